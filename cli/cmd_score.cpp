// `layerroute score`: task metrics of any system's outputs against references, with the
// same definitions `layerroute eval` uses for the model's own generations.
#include <iostream>

#include "cli/commands.h"
#include "eval/score_files.h"

namespace lr::cli {

void register_score(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "score",
      "Score generated outputs against references and print one JSON object.\n"
      "PRED: one {\"text\": ...} a line (gsm8k: optionally \"ended\": true|false or\n"
      "\"finish_reason\"). REF: one a line, same order: tool_call {\"tool_calls\":\n"
      "[{\"name\", \"arguments\"}...]} ([] for a turn that should not call); gsm8k\n"
      "{\"answer\": \"... #### 42\"}.\n"
      "tool_call: calls are the <tool_call>...</tool_call> blocks whose payload is a JSON\n"
      "object with a string \"name\" (string arguments are parsed). Over turns with a\n"
      "reference call: parse_rate (at least one call), name_accuracy (same name sequence),\n"
      "args_exact_match (same calls; key order and 1 vs 1.0 ignored), args_f1 (F1 of\n"
      "(call index, key, value) triples); over no-call turns: no_call_accuracy (no\n"
      "<tool_call> tag).\n"
      "gsm8k: numbers compared as decimals without commas (1,234 == 1234, 2.50 == 2.5):\n"
      "accuracy_hash (first number after the prediction's ####), accuracy_last_number\n"
      "(its last number), ended (share that stopped on EOS, where known).\n"
      "Malformed rows are reported on stderr (FILE:ROW) and left out; different row\n"
      "counts are an error.");
  static std::string task, pred, ref;
  sub->add_option("--task", task, "tool_call or gsm8k")
      ->required()
      ->check(CLI::IsMember({"tool_call", "gsm8k"}));
  sub->add_option("--pred", pred, "Predictions JSONL")->required();
  sub->add_option("--ref", ref, "References JSONL, one per prediction row")->required();
  registry().push_back({sub, [] {
                          const Json out = eval::score_files(
                              eval::parse_score_task(task), pred, ref,
                              [](const std::string& s) { std::cerr << "score: " << s << "\n"; });
                          std::cout << out.dump() << "\n";
                          return 0;
                        }});
}

}  // namespace lr::cli
