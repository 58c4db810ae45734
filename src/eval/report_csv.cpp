// CSV reports: plain numbers (NaN as "nan", which pandas and R read as missing).
#include <cmath>
#include <sstream>

#include "eval/report.h"

namespace lr::eval {

namespace {

std::string num(double v) {
  if (std::isnan(v)) return "nan";
  std::ostringstream os;
  os.precision(10);
  os << v;
  return os.str();
}

}  // namespace

std::string types_csv(const EvalResults& r) {
  std::ostringstream o;
  o << "type,n_samples,tokens,mean_seq_len,mean_blocks_run,skip_pct,paper_flops_all,"
       "paper_flops_routed,paper_saving_pct,full_flops_all,full_flops_routed,full_saving_pct,"
       "ppl_base,ppl_lora_all,ppl_routed,ppl_lora0_routed,delta_ppl_routed_minus_lora_all,"
       "delta_ppl_routed_minus_base,lora_impact_ce,flip_rate,corr_gate_seq_len\n";
  for (const TypeStats& t : r.types)
    o << t.name << ',' << t.n_samples << ',' << t.tokens << ',' << num(t.mean_seq_len) << ','
      << num(t.mean_blocks_run) << ',' << num(t.skip_pct) << ',' << t.paper_flops_all << ','
      << t.paper_flops_routed << ',' << num(t.paper_saving_pct) << ',' << t.full_flops_all << ','
      << t.full_flops_routed << ',' << num(t.full_saving_pct) << ',' << num(t.base.ppl()) << ','
      << num(t.lora_all.ppl()) << ',' << num(t.routed.ppl()) << ',' << num(t.lora_zero.ppl()) << ','
      << num(t.delta_ppl_vs_lora_all()) << ',' << num(t.delta_ppl_vs_base()) << ','
      << num(t.lora_impact_ce()) << ',' << num(t.flip_rate) << ',' << num(t.corr_gate_len) << '\n';
  return o.str();
}

std::string blocks_csv(const EvalResults& r) {
  std::ostringstream o;
  o << "block,type,bias,sigmoid_bias,mean_soft_gate,open_share,skip_share\n";
  for (int l = 0; l < r.n_layers; ++l)
    for (const TypeStats& t : r.types) {
      const size_t i = size_t(l);
      const bool has = i < r.bias.size();
      o << l << ',' << t.name << ',' << (has ? num(r.bias[i]) : "nan") << ','
        << (has ? num(r.sigmoid_bias[i]) : "nan") << ',' << num(t.mean_soft[i]) << ','
        << num(t.open_frac[i]) << ',' << num(1.0 - t.open_frac[i]) << '\n';
    }
  return o.str();
}

std::string samples_csv(const EvalResults& r) {
  std::ostringstream o;
  o << "index,origin,label,seq_len,n_targets,blocks_run,gate_score,paper_flops_all,"
       "paper_flops_routed,full_flops_all,full_flops_routed";
  for (const char* k : {"soft", "hard", "score"})
    for (int l = 0; l < r.n_layers; ++l) o << ',' << k << '_' << l;
  o << '\n';
  for (const SampleRecord& s : r.samples) {
    o << s.index << ',' << csv_field(s.origin) << ',' << step_label_name(s.label) << ','
      << s.seq_len << ',' << s.n_targets << ',' << s.blocks_run << ',' << num(s.gate_score) << ','
      << s.paper_flops_all << ',' << s.paper_flops_routed << ',' << s.full_flops_all << ','
      << s.full_flops_routed;
    for (const auto* v : {&s.soft, &s.hard, &s.score})
      for (float x : *v) o << ',' << num(x);
    o << '\n';
  }
  return o.str();
}

}  // namespace lr::eval
