#include "text/qwen25_tokenizer_files.h"

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/json.h"

namespace lr {

namespace {

bool qwen3_only(long id) {
  return id >= 151665 && id <= 151668;
}

nlohmann::json parse_file(const std::string& path) {
  // Plain (sorted) json: the 151k-entry vocab would be slow to parse in key order, and
  // key order carries no meaning in these files.
  const std::string text = read_file(path);
  check_json_depth(text, path);
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  LR_CHECK(!j.is_discarded() && j.is_object(), path, ": not a JSON object");
  return j;
}

}  // namespace

void write_qwen25_tokenizer_files(const std::string& src_dir, const std::string& out_dir,
                                  const std::string& template_text) {
  const std::string tok_path = src_dir + "/tokenizer.json";
  const std::string cfg_path = src_dir + "/tokenizer_config.json";
  nlohmann::json tok = parse_file(tok_path);
  LR_CHECK(tok.contains("added_tokens") && tok["added_tokens"].is_array(), tok_path,
           ": no added_tokens array");
  nlohmann::json kept = nlohmann::json::array();
  for (const auto& t : tok["added_tokens"])
    if (!qwen3_only(t.value("id", -1L))) kept.push_back(t);
  tok["added_tokens"] = kept;

  nlohmann::json cfg = parse_file(cfg_path);
  if (cfg.contains("added_tokens_decoder")) {
    nlohmann::json dec = nlohmann::json::object();
    for (const auto& [k, v] : cfg["added_tokens_decoder"].items())
      if (!qwen3_only(std::stol(k))) dec[k] = v;
    cfg["added_tokens_decoder"] = dec;
  }
  if (template_text.empty()) {
    // No jinja text to store: name layerroute's native template (see chat_template.h).
    cfg.erase("chat_template");
    cfg["layerroute_chat_template"] = "qwen2.5";
  } else {
    cfg["chat_template"] = template_text;
  }
  cfg["model_max_length"] = 32768;

  write_file_atomic(out_dir + "/tokenizer.json", tok.dump());
  write_file_atomic(out_dir + "/tokenizer_config.json", cfg.dump(2));
}

}  // namespace lr
