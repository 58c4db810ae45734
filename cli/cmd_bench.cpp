// `layerroute bench`: this machine's limits (memory read bandwidth, sgemm rate), then
// prefill (128 and 512 tokens) and KV-cache decode speed on a model, each figure with its
// share of the limit that bounds it: the run's once-measured limit, and the same limit
// probed right beside the figure (this VM's speed moves between phases of seconds).
// Prompts are seeded random ids: speed does not depend on which tokens they are.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <random>
#include <utility>
#include <vector>

#include "cli/commands.h"
#include "cli/model_options.h"
#include "core/error.h"
#include "core/rss.h"
#include "core/threads.h"
#include "core/timer.h"
#include "eval/machine_limits.h"
#include "io/atomic_file.h"
#include "io/json.h"
#include "kernels/cpu/argmax.h"
#include "model/forward.h"

extern char** environ;  // POSIX: the environment posix_spawn hands on

namespace lr::cli {

namespace {

std::vector<int> random_ids(int n, int vocab, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> d(0, vocab - 1);
  std::vector<int> ids(n);
  for (int& id : ids) id = d(rng);
  return ids;
}

// FLOPs of a prefill of T tokens into an empty cache running `blocks_run` blocks: 2 per
// weight per token in the blocks,
// causal attention (q.k and p.v: 4 d per (query head, key) pair), LM head on the last
// position only (as the session does).
double prefill_flops(const ModelConfig& c, int T, double blocks_run) {
  double params = 0;
  params += double(c.hidden) * c.q_dim() * 2 + double(c.hidden) * c.kv_dim() * 2;
  params += 3.0 * c.hidden * c.intermediate;
  const double pairs = double(T) * (T + 1) / 2;
  return blocks_run * (2 * params * T + 4.0 * c.head_dim * c.n_heads * pairs) +
         2.0 * c.vocab * c.hidden;
}

std::string pct(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f %%", 100 * x);
  return buf;
}

// Prefill (128, 512) and decode speed of one session; for a routed session also the blocks
// each measurement ran (prefill: its own gates; decode: mean over the decoded steps). Each
// figure also keeps the limit measured beside it (eval/machine_limits.h): the sgemm rate
// just before the kept prefill, and for the kept decode round the bandwidth probed before
// each of its slices, weighted by the bytes each slice read.
struct Speeds {
  double prefill_s[2] = {0, 0};
  double prefill_blocks[2] = {0, 0};
  double prefill_sgemm[2] = {0, 0};  // FLOP/s
  double decode_tok_s = 0, decode_blocks = 0;
  double decode_ceiling_tok_s = 0;  // those bytes at those rates
  std::string decode_gates;
};
constexpr int kPrefillSizes[2] = {128, 512};

// Prefill of each size into a fresh cache, best of `reps`, each repetition after an sgemm
// probe. With two sides (a routed session and its all-open twin) each repetition runs them
// back to back, so both meet the same moments of a machine whose speed moves between phases
// of a few seconds.
void measure_prefill(ModelSession* const* ss, int sides, const ModelConfig& c, int reps,
                     SgemmProbe& probe, Speeds* r) {
  for (int i = 0; i < 2; ++i) {
    const int n = kPrefillSizes[i];
    const std::vector<int> ids = random_ids(n, c.vocab, 1234 + n);
    for (int side = 0; side < sides; ++side) r[side].prefill_s[i] = 1e30;
    for (int rep = 0; rep < reps; ++rep) {
      const double rate = probe.rate();
      for (int side = 0; side < sides; ++side) {
        ModelSession& s = *ss[side];
        s.reset();
        Timer t;
        s.prefill(ids);
        const double sec = t.seconds();
        if (sec < r[side].prefill_s[i]) {
          r[side].prefill_s[i] = sec;
          r[side].prefill_sgemm[i] = rate;
        }
        RoutedSession* rs = s.routed();
        r[side].prefill_blocks[i] = rs ? rs->blocks_run() : c.n_layers;
      }
    }
  }
}

// Bytes a decoded token reads: the LM head, and each block that runs.
struct DecodeBytes {
  double head = 0, block = 0;
};

// One session's greedy decode after a prompt, timed a few tokens at a time.
class DecodeRun {
 public:
  DecodeRun(ModelSession& s, const ModelConfig& c, int prompt, DecodeBytes bytes)
      : s_(s), c_(c), bytes_(bytes) {
    s_.reset();
    next_ = argmax(s_.prefill(random_ids(prompt, c.vocab, 99)).data(), c.vocab);
  }
  // n tokens; sec_per_byte: the bandwidth probed just before.
  void step(int n, double sec_per_byte) {
    RoutedSession* rs = s_.routed();
    double blocks = 0;
    Timer t;
    for (int i = 0; i < n; ++i) {
      next_ = argmax(s_.decode(next_).data(), c_.vocab);
      blocks += rs ? rs->blocks_run() : c_.n_layers;  // a few ns: inside the timing is fine
    }
    seconds_ += t.seconds();
    tokens_ += n;
    blocks_ += blocks;
    ceiling_s_ += sec_per_byte * (n * bytes_.head + blocks * bytes_.block);
  }
  void report(Speeds* r) const {
    r->decode_tok_s = double(tokens_) / seconds_;
    r->decode_blocks = blocks_ / double(std::max(tokens_, 1L));
    r->decode_ceiling_tok_s = ceiling_s_ > 0 ? double(tokens_) / ceiling_s_ : 0;
    if (RoutedSession* rs = s_.routed()) r->decode_gates = rs->gate_string();
  }

 private:
  ModelSession& s_;
  const ModelConfig& c_;
  DecodeBytes bytes_;
  int next_ = 0;
  long tokens_ = 0;
  double seconds_ = 0, blocks_ = 0, ceiling_s_ = 0;
};

// Decode speed of one session, or of a routed session and its all-open twin in slices of
// kSlice tokens taken in turn: this VM's bandwidth moves between phases lasting seconds,
// and whole runs in turn (~3 s each) let one side catch a fast phase and the other a slow
// one (realised savings of -2 % and 177 % of the prediction in consecutive runs). Before
// each slice a bandwidth probe measures the read rate of that moment.
void measure_decode(ModelSession* const* ss, int sides, const ModelConfig& c, int prompt,
                    int tokens, DecodeBytes bytes, BandwidthProbe& bw, Speeds* r) {
  constexpr int kSlice = 8;
  std::vector<DecodeRun> runs;
  runs.reserve(size_t(sides));
  for (int i = 0; i < sides; ++i) runs.emplace_back(*ss[i], c, prompt, bytes);
  for (int done = 0; done < tokens; done += kSlice) {
    const double sec_per_byte = bw.pass() / bw.bytes();
    for (auto& run : runs) run.step(std::min(kSlice, tokens - done), sec_per_byte);
  }
  for (int i = 0; i < sides; ++i) runs[size_t(i)].report(&r[i]);
}

std::string temp_path_for(const std::string& name) {
  return (std::filesystem::temp_directory_path() / name).string();
}

// Keeps the faster decode round.
void keep_best_decode(Speeds* best, const Speeds& r) {
  if (r.decode_tok_s > best->decode_tok_s) {
    best->decode_tok_s = r.decode_tok_s;
    best->decode_blocks = r.decode_blocks;
    best->decode_ceiling_tok_s = r.decode_ceiling_tok_s;
    best->decode_gates = r.decode_gates;
  }
}

// Training speed per micro-batch shape, each in a child process (`bench-train`): peak RSS
// is per process and only grows, so each shape gets its own, free of the inference model.
Json bench_training_child(const std::string& model, int rows, int seq, int steps, int threads) {
  char self[4096];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  LR_CHECK(n > 0, "bench: cannot find this executable (/proc/self/exe)");
  self[n] = 0;
  const std::string json =
      temp_path_for("lr_bench_train_" + std::to_string(getpid()) + "_" + std::to_string(rows) +
                    "x" + std::to_string(seq) + ".json");
  // An argv, not a shell line: no quoting of the paths; the child's stdout is discarded
  // (it writes its figures to the JSON file), its stderr stays ours for its errors.
  std::vector<std::string> args = {self,        "bench-train",
                                   "--model",   model,
                                   "--rows",    std::to_string(rows),
                                   "--seq",     std::to_string(seq),
                                   "--steps",   std::to_string(steps),
                                   "--threads", std::to_string(threads),
                                   "--json",    json};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  const int err = posix_spawn(&pid, self, &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  LR_CHECK(err == 0, "bench: cannot start ", self, " bench-train: ", std::strerror(err));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  LR_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "bench: training benchmark ", rows, "x",
           seq, " failed (",
           WIFEXITED(status) ? "exit " + std::to_string(WEXITSTATUS(status))
                             : "signal " + std::to_string(WTERMSIG(status)),
           ")");
  Json j = read_json_file(json);
  std::remove(json.c_str());
  return j;
}

}  // namespace

void register_bench(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "bench",
      "Measure the machine's limits, prefill and decode tokens/s (KV cache) and training\n"
      "tokens/s, each with its share of the limit; with routing, routed vs all blocks open");
  static ModelOptions m;
  static RouteOptionsCli route_opts;
  static int reps = 3, decode_tokens = 128, decode_prompt = 512, train_steps = 2;
  static bool no_train = false;
  static std::string json_out;
  add_model_options(sub, &m);
  add_route_options(sub, &route_opts);
  sub->add_option(
         "--reps", reps,
         "Repetitions per prefill size, best reported (with routing: the routed session and its "
         "all-open twin back to back in each, and as many decode rounds, each interleaving the "
         "two 8 tokens at a time)")
      ->capture_default_str();
  sub->add_option("--decode-tokens", decode_tokens, "Tokens decoded after the prompt")
      ->capture_default_str();
  sub->add_option("--decode-prompt", decode_prompt, "Prompt length before decoding")
      ->capture_default_str();
  sub->add_option("--train-steps", train_steps,
                  "Timed training steps per micro-batch shape (1x512, 4x128), after a warm-up")
      ->capture_default_str();
  sub->add_flag("--no-train", no_train, "Skip the training measurement");
  sub->add_option("--json", json_out, "Also write the figures as JSON");
  registry().push_back(
      {sub, [] {
         set_num_threads(m.threads);
         check_route_options(route_opts);
         LR_CHECK(reps > 0 && decode_tokens > 0 && decode_prompt > 0 && train_steps > 0,
                  "bench: --reps, --decode-tokens, --decode-prompt and --train-steps must be "
                  "positive");
         Json out;
         out["threads"] = num_threads();
         out["env"] = threading_env();
         const double bw = read_bandwidth_1gib();
         // Kept for the whole run: the probes beside each prefill and each few decoded tokens
         // allocate nothing. 256 MiB (8x the L3) reads as fast as 1 GiB here.
         SgemmProbe probe;
         const double gemm = probe.rate(4);
         BandwidthProbe bw_probe(size_t(256) << 20);
         LR_CHECK(bw_probe.ok(), "bench: cannot map a 256 MiB buffer for the bandwidth probe");
         out["mem_read_gb_s"] = bw / 1e9;
         out["sgemm_gflop_s"] = gemm / 1e9;
         std::cout << num_threads() << " threads: memory read " << bw / 1e9
                   << " GB/s (1 GiB sum), sgemm " << gemm / 1e9 << " GFLOP/s (M=512, 896->4864)\n";

         // The 1 GiB buffer is gone: peak RSS from here on is the model's and the session's.
         const bool rss_reset = reset_peak_rss();
         Timer load_t;
         const WeightsDType wdt = parse_weights_dtype(m.weights_dtype, m.model);
         const Model model = Model::load(m.model, wdt);
         const double load_s = load_t.seconds();
         const ModelConfig& c = model.config;
         // Chunks of 512: a 512-token prefill is one GEMM call per projection, which packs
         // (and widens) each weight once; two chunks of 256 would pack every weight twice.
         const std::unique_ptr<RouteSetup> route = make_route_setup(route_opts, model);
         const int max_T = std::max(512, decode_prompt + decode_tokens + 1);
         if (route) std::cout << route->describe() << "\n";
         out["model"] = m.model;
         out["weights_dtype"] = weights_dtype_name(wdt);
         out["load_s"] = load_s;
         std::cout << "model " << m.model << " (" << c.n_layers << " blocks, hidden " << c.hidden
                   << ", vocab " << c.vocab << "), weights " << weights_dtype_name(wdt) << "\n";
         const double bytes = decode_bytes(model);
         const double head_bytes = linear_bytes(model.weights.head());
         const double block_bytes = (bytes - head_bytes) / c.n_layers;

         // With routing, the all-open twin (same LoRA) is measured alternately with the routed
         // session, best of each, so a noisy moment on a shared machine hits both alike.
         std::optional<RouteSetup> open_setup;
         if (route) {
           open_setup.emplace();
           open_setup->opt = route->opt;
           open_setup->opt.gates = GateSpec::parse("open");
           open_setup->deltas = route->deltas;  // same LoRA; they point into route's adapters
         }
         // --reps rounds; with the all-open twin, each round runs both back to back.
         Speeds sp, op;
         {
           ModelSession s(model, route.get(), max_T, 512);
           std::optional<ModelSession> o;
           if (open_setup) o.emplace(model, &*open_setup, max_T, 512);
           ModelSession* const sessions[2] = {&s, o ? &*o : nullptr};
           const int sides = o ? 2 : 1;
           Speeds pre[2];
           measure_prefill(sessions, sides, c, reps, probe, pre);
           sp = pre[0];
           op = pre[1];
           // Decode: the sides interleaved within each round, best round of each.
           for (int round = 0; round < (o ? reps : 1); ++round) {
             Speeds r[2];
             measure_decode(sessions, sides, c, decode_prompt, decode_tokens,
                            DecodeBytes{head_bytes, block_bytes}, bw_probe, r);
             keep_best_decode(&sp, r[0]);
             if (o) keep_best_decode(&op, r[1]);
           }
         }
         for (int i = 0; i < 2; ++i) {
           const int n = kPrefillSizes[i];
           const double flops = prefill_flops(c, n, sp.prefill_blocks[i]);
           const double sec = sp.prefill_s[i];
           const std::string key = "prefill_" + std::to_string(n);
           out[key + "_tok_s"] = n / sec;
           out[key + "_gflop_s"] = flops / sec / 1e9;
           out[key + "_share_of_sgemm"] = flops / sec / gemm;
           const double beside = sp.prefill_sgemm[i];
           out[key + "_sgemm_beside_gflop_s"] = beside / 1e9;
           out[key + "_share_of_sgemm_beside"] = flops / sec / beside;
           std::cout << "prefill " << n << " tokens: " << n / sec << " tok/s, " << flops / sec / 1e9
                     << " GFLOP/s = " << pct(flops / sec / gemm) << " of sgemm (ceiling "
                     << gemm / flops * n << " tok/s)";
           if (route) std::cout << ", blocks run " << sp.prefill_blocks[i] << "/" << c.n_layers;
           std::cout << "\n    " << pct(flops / sec / beside) << " of the sgemm just before it ("
                     << beside / 1e9 << " GFLOP/s)\n";
         }
         // The ceiling counts the weights this decode actually reads (closed blocks: none).
         const double dec_bytes = head_bytes + sp.decode_blocks * block_bytes;
         out["decode_tok_s"] = sp.decode_tok_s;
         if (route) {
           out["decode_blocks_run"] = sp.decode_blocks;
           out["decode_gates"] = sp.decode_gates;  // the last decoded step's
           out["prefill_512_blocks_run"] = sp.prefill_blocks[1];
         }
         out["decode_after_prompt"] = decode_prompt;
         out["decode_weight_bytes_per_token"] = dec_bytes;
         out["decode_ceiling_tok_s"] = bw / dec_bytes;
         out["decode_share_of_bandwidth"] = sp.decode_tok_s / (bw / dec_bytes);
         // The probes' rate weighted by the bytes each slice read: the kept round read
         // dec_bytes per token on average (decode_blocks is its mean).
         const double bw_beside = sp.decode_ceiling_tok_s * dec_bytes;
         out["decode_bandwidth_beside_gb_s"] = bw_beside / 1e9;
         out["decode_ceiling_beside_tok_s"] = sp.decode_ceiling_tok_s;
         out["decode_share_of_bandwidth_beside"] = sp.decode_tok_s / sp.decode_ceiling_tok_s;
         std::cout << "decode " << decode_tokens << " tokens after a " << decode_prompt
                   << "-token prompt: " << sp.decode_tok_s
                   << " tok/s = " << pct(sp.decode_tok_s / (bw / dec_bytes))
                   << " of the bandwidth ceiling (" << dec_bytes / 1e6
                   << " MB of weights per token, " << bw / dec_bytes << " tok/s)";
         if (route)
           std::cout << ", blocks run " << sp.decode_blocks << "/" << c.n_layers << " per step";
         std::cout << "\n    " << pct(sp.decode_tok_s / sp.decode_ceiling_tok_s)
                   << " of the bandwidth measured before every 8 tokens (" << bw_beside / 1e9
                   << " GB/s, " << sp.decode_ceiling_tok_s << " tok/s)\n";
         // The probes' buffers stay resident throughout: not the inference's memory.
         const size_t probes = probe.resident_bytes() + bw_probe.resident_bytes();
         const size_t peak = peak_rss_bytes();
         const size_t rss = peak > probes ? peak - probes : peak;
         out["peak_rss_bytes"] = rss;
         std::cout << "peak RSS (inference): " << (rss >> 20) << " MiB (less the " << (probes >> 20)
                   << " MiB of the probes)"
                   << (rss_reset ? "" : " (includes the 1 GiB bandwidth buffer)") << "\n";

         // Routed vs every block open (same LoRA): the saving realised against the saving
         // the closed blocks predict (their share of the FLOPs, or of the weight bytes).
         const bool closes =
             route && (sp.prefill_blocks[0] < c.n_layers || sp.prefill_blocks[1] < c.n_layers ||
                       sp.decode_blocks < c.n_layers);
         if (route && !closes)
           std::cout << "routing closed no block: no routed vs all-open comparison\n";
         if (closes) {
           Json cmp = Json::object();
           auto row = [&](const std::string& name, double t_routed, double t_open,
                          double predicted) {
             const double realised = 1.0 - t_routed / t_open;
             cmp[name] = Json{
                 {"routed_s", t_routed},
                 {"open_s", t_open},
                 {"saving_realised", realised},
                 {"saving_predicted", predicted},
                 {"realised_over_predicted", predicted > 0 ? Json(realised / predicted) : Json()}};
             std::cout << "  " << name << ": all-open " << t_open * 1e3 << " ms, routed "
                       << t_routed * 1e3 << " ms: saving " << pct(realised) << " (predicted "
                       << pct(predicted) << ")"
                       << (predicted > 0
                               ? ", realised " + pct(realised / predicted) + " of the prediction"
                               : std::string())
                       << "\n";
           };
           std::cout << "routed vs all blocks open:\n";
           for (int i = 0; i < 2; ++i) {
             const int n = kPrefillSizes[i];
             const double all = prefill_flops(c, n, c.n_layers);
             row("prefill_" + std::to_string(n), sp.prefill_s[i], op.prefill_s[i],
                 1.0 - prefill_flops(c, n, sp.prefill_blocks[i]) / all);
           }
           row("decode_per_token", 1.0 / sp.decode_tok_s, 1.0 / op.decode_tok_s,
               1.0 - dec_bytes / bytes);
           out["routed_vs_open"] = cmp;
         }

         if (!no_train) {
           Json train = Json::object();
           for (auto [rows, seq] : {std::pair{1, 512}, std::pair{4, 128}}) {
             std::cout << "training " << rows << "x" << seq << " (LoRA + routers, " << train_steps
                       << " steps)..." << std::flush;
             const Json j = bench_training_child(m.model, rows, seq, train_steps, num_threads());
             const std::string key = std::to_string(rows) + "x" + std::to_string(seq);
             train[key] = j;
             std::cout << "\rtraining " << key << ": " << j["tok_s"].get<double>() << " tok/s, "
                       << j["gflops"].get<double>()
                       << " GFLOP/s = " << pct(j["limit_share"].get<double>())
                       << " of sgemm, peak RSS " << (j["peak_rss_bytes"].get<size_t>() >> 20)
                       << " MiB\n";
           }
           out["training"] = train;
         }
         if (!json_out.empty()) write_file_atomic(json_out, out.dump(2) + "\n");
         return 0;
       }});
}

}  // namespace lr::cli
