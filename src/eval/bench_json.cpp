// bench_json(): BenchResult -> the JSON of `layerroute bench --json`.
#include "eval/bench.h"

namespace lr::eval {

Json bench_json(const BenchResult& r) {
  const BenchLimits& lim = r.limits;
  const InferenceBench& b = r.inference;
  const double bw = lim.mem_read_bytes_s, gemm = lim.sgemm_flop_s;
  Json out;
  out["threads"] = lim.threads;
  out["env"] = r.env;
  out["mem_read_gb_s"] = bw / 1e9;
  out["sgemm_gflop_s"] = gemm / 1e9;
  out["cpu"] = lim.cpu;
  out["peak_fma_avx2_gflop_s"] = lim.peak_fma_avx2_flop_s / 1e9;
  out["peak_fma_avx512_gflop_s"] = lim.peak_fma_avx512_flop_s / 1e9;
  out["peak_bf16_dot_gflop_s"] = lim.peak_bf16_flop_s / 1e9;
  out["gemm_kernel"] = lim.gemm_kernel;
  out["gemm_gflop_s"] = lim.gemm_flop_s / 1e9;
  out["model"] = r.model_dir;
  out["weights_dtype"] = weights_dtype_name(r.weights);
  out["load_s"] = r.load_s;
  for (const PrefillFigure& p : b.figures.prefill) {
    const std::string key = "prefill_" + std::to_string(p.tokens);
    out[key + "_tok_s"] = p.tok_s();
    out[key + "_gflop_s"] = p.flop_s() / 1e9;
    out[key + "_share_of_sgemm"] = p.flop_s() / gemm;
    out[key + "_sgemm_beside_gflop_s"] = p.sgemm_beside / 1e9;
    out[key + "_share_of_sgemm_beside"] = p.flop_s() / p.sgemm_beside;
    out[key + "_share_of_peak"] = p.flop_s() / lim.prefill_peak_flop_s(r.weights);
    out[key + "_peak"] = lim.prefill_peak_name(r.weights);
  }
  const DecodeFigure& d = b.figures.decode;
  out["decode_tok_s"] = d.tok_s;
  if (b.routed) {
    out["decode_blocks_run"] = d.blocks_run;
    out["decode_gates"] = d.gates;  // the last decoded step's
    out["prefill_512_blocks_run"] = b.figures.prefill[1].blocks_run;
  }
  out["decode_after_prompt"] = b.decode_prompt;
  out["decode_weight_bytes_per_token"] = b.decode_bytes();
  out["decode_ceiling_tok_s"] = b.decode_ceiling_tok_s(bw);
  out["decode_share_of_bandwidth"] = d.tok_s / b.decode_ceiling_tok_s(bw);
  out["decode_bandwidth_beside_gb_s"] = b.decode_bandwidth_beside() / 1e9;
  out["decode_ceiling_beside_tok_s"] = d.ceiling_beside_tok_s;
  out["decode_share_of_bandwidth_beside"] = d.tok_s / d.ceiling_beside_tok_s;
  out["peak_rss_bytes"] = b.peak_rss;
  if (routing_closed_blocks(b)) {
    Json cmp = Json::object();
    for (const RoutedSaving& s : routed_vs_open(b)) {
      const double realised = s.realised();
      cmp[s.name] = Json{
          {"routed_s", s.routed_s},
          {"open_s", s.open_s},
          {"saving_realised", realised},
          {"saving_predicted", s.predicted},
          {"realised_over_predicted", s.predicted > 0 ? Json(realised / s.predicted) : Json()}};
    }
    out["routed_vs_open"] = cmp;
  }
  if (r.with_training) {
    Json train = Json::object();
    for (const auto& [key, figures] : r.training) train[key] = figures;
    out["training"] = train;
  }
  return out;
}

}  // namespace lr::eval
