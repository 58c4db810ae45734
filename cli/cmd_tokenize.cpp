// `layerroute tokenize`: JSONL {"text"} -> {"ids"} (or the reverse with --decode).
#include <iostream>

#include "cli/commands.h"
#include "cli/jsonl.h"
#include "text/tokenizer.h"

namespace lr::cli {

void register_tokenize(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "tokenize", "Read JSONL {\"text\": ...} on stdin, write JSONL {\"ids\": [...]} on stdout");
  static std::string path;
  static bool decode = false;
  static bool skip_special = false;
  sub->add_option("--tokenizer", path, "A tokenizer.json or a model directory")->required();
  sub->add_flag("--decode", decode, "Reverse: {\"ids\": [...]} -> {\"text\": ...}");
  sub->add_flag("--skip-special", skip_special, "With --decode: drop special tokens");
  registry().push_back({sub, [] {
                          Tokenizer tok = Tokenizer::load(path);
                          for_each_jsonl_line(std::cin, [&](const Json& j, size_t row) {
                            const std::string where = "stdin:" + std::to_string(row);
                            Json out;
                            if (decode) {
                              LR_CHECK(j.is_object() && j.contains("ids") && j["ids"].is_array(),
                                       where, ": expected {\"ids\": [...]}");
                              std::vector<int32_t> ids;
                              for (const auto& v : j["ids"]) {
                                LR_CHECK(v.is_number_integer(), where, ": ids must be integers");
                                const int64_t id = v.get<int64_t>();
                                LR_CHECK(id >= 0 && size_t(id) < tok.vocab_size(), where, ": id ",
                                         id, " out of range [0, ", tok.vocab_size(), ")");
                                ids.push_back(int32_t(id));
                              }
                              out["text"] = tok.decode(ids, skip_special);
                            } else {
                              LR_CHECK(j.is_object() && j.contains("text") && j["text"].is_string(),
                                       where, ": expected {\"text\": \"...\"}");
                              out["ids"] = tok.encode(j["text"].get<std::string>());
                            }
                            // Invalid UTF-8 from a partial decode is replaced rather than aborting
                            // the stream.
                            std::cout << out.dump(-1, ' ', false, Json::error_handler_t::replace)
                                      << "\n";
                          });
                          return 0;
                        }});
}

}  // namespace lr::cli
