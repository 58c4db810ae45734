// `layerroute eval`: skip %, FLOPs, perplexities and gate diagnostics of a trained adapter
// directory on labelled agentic data; reports in --out, the Markdown summary on stdout.
#include <iostream>

#include "cli/commands.h"
#include "eval/eval_run.h"
#include "eval/report.h"

namespace lr::cli {

void register_eval(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "eval",
      "Evaluate LoRA + routers per step type (tool_call / planning): blocks run, skip %,\n"
      "FLOPs, perplexity (base, LoRA all blocks, LoRA + routing), gate diagnostics.\n"
      "Writes eval.json, types.csv, blocks.csv, samples.csv, summary.md and SVG charts.");
  static eval::EvalRunConfig c;
  static std::string loss_on = "all";
  static bool no_wallclock = false;
  sub->add_option("--model", c.model_dir, "Base model directory (Hugging Face layout)")->required();
  sub->add_option("--adapters", c.adapters_dir,
                  "Adapter directory (adapter_model.safetensors, router.safetensors); "
                  "omitted: the base model alone");
  sub->add_option("--gates", c.gates,
                  "Gates of the recorded configuration: router (the adapters' routers), open "
                  "(every block) or mask:BITS (one 0/1 per block, 1 = run)")
      ->capture_default_str();
  sub->add_flag("--no-lora", c.no_lora, "Leave the adapters' LoRA out (routers still apply)");
  sub->add_option("--data", c.data,
                  "Dataset FORMAT:FILE, repeatable (hermes, glaive, gsm8k, "
                  "turing, messages)")
      ->required();
  sub->add_option("--out", c.out_dir, "Report directory")->required();
  sub->add_option("--max-samples", c.max_samples, "Samples per dataset (0 = all)")
      ->capture_default_str();
  sub->add_option("--max-seq-len", c.max_seq_len, "Truncate samples to this many tokens")
      ->capture_default_str();
  sub->add_option("--batch-size", c.batch_size, "Samples per forward batch")->capture_default_str();
  sub->add_option("--threads", c.threads, "Compute threads (0: all cores)")->capture_default_str();
  sub->add_option("--loss-on", loss_on, "Tokens the perplexity covers: all or assistant")
      ->capture_default_str()
      ->check(CLI::IsMember({"all", "assistant"}));
  sub->add_flag("--no-wallclock", no_wallclock, "Skip the prefill/decode speed measurement");
  registry().push_back({sub, [] {
                          eval::EvalRunConfig cfg = c;
                          cfg.loss_on = loss_on == "all" ? LossOn::All : LossOn::Assistant;
                          cfg.wallclock = !no_wallclock;
                          cfg.progress = [](const std::string& s) {
                            std::cerr << "eval: " << s << "\n";
                          };
                          const eval::EvalResults r = eval::run_eval(cfg);
                          std::cout << eval::summary_markdown(r);
                          std::cerr << "eval: reports in " << cfg.out_dir << "\n";
                          return 0;
                        }});
}

}  // namespace lr::cli
