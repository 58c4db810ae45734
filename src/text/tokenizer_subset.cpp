#include "text/tokenizer_subset.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/json.h"

namespace lr {

TokenizerSubsetInfo write_tokenizer_subset(const std::string& src_json, const std::string& out_json,
                                           int64_t keep, int64_t drop_added_from,
                                           int64_t drop_added_to) {
  const std::string text = read_file(src_json);
  check_json_depth(text, src_json);
  nlohmann::json tok = nlohmann::json::parse(text, nullptr, false);
  LR_CHECK(!tok.is_discarded() && tok.is_object(), src_json, ": not a JSON object");
  LR_CHECK(tok.contains("model") && tok["model"].value("type", "") == "BPE", src_json,
           ": not a BPE tokenizer");
  nlohmann::json& model = tok["model"];
  LR_CHECK(model.contains("vocab") && model["vocab"].is_object(), src_json, ": no model.vocab");
  LR_CHECK(keep >= 256, "tokenizer subset: keep at least the 256 byte tokens");

  TokenizerSubsetInfo info;
  nlohmann::json vocab = nlohmann::json::object();
  for (const auto& [piece, id] : model["vocab"].items())
    if (id.get<int64_t>() < keep) vocab[piece] = id;
  info.kept_vocab = int64_t(vocab.size());
  LR_CHECK(info.kept_vocab == keep, src_json, ": ids below ", keep, " are not contiguous");

  // A merge survives when both parts and their concatenation are kept.
  nlohmann::json merges = nlohmann::json::array();
  for (const auto& m : model["merges"]) {
    std::string a, b;
    if (m.is_array() && m.size() == 2) {
      a = m[0].get<std::string>();
      b = m[1].get<std::string>();
    } else if (m.is_string()) {
      const std::string s = m.get<std::string>();
      const size_t sp = s.find(' ');
      LR_CHECK(sp != std::string::npos, src_json, ": malformed merge '", s, "'");
      a = s.substr(0, sp);
      b = s.substr(sp + 1);
    } else {
      fail(src_json, ": malformed merge");
    }
    if (vocab.contains(a) && vocab.contains(b) && vocab.contains(a + b))
      merges.push_back(nlohmann::json::array({a, b}));
  }
  info.kept_merges = int64_t(merges.size());
  model["vocab"] = std::move(vocab);
  model["merges"] = std::move(merges);

  // Added tokens follow the kept vocabulary, in their original order.
  nlohmann::json added = nlohmann::json::array();
  std::vector<nlohmann::json> src_added;
  if (tok.contains("added_tokens"))
    for (const auto& t : tok["added_tokens"]) src_added.push_back(t);
  std::sort(src_added.begin(), src_added.end(),
            [](const auto& x, const auto& y) { return x["id"] < y["id"]; });
  for (auto t : src_added) {
    const int64_t id = t["id"].get<int64_t>();
    if (id >= drop_added_from && id <= drop_added_to) continue;
    t["id"] = keep + info.added++;
    added.push_back(std::move(t));
  }
  tok["added_tokens"] = std::move(added);
  // Post-processors may name added-token ids; the BPE models we cut (Qwen) use none.
  tok["post_processor"] = nullptr;
  write_file_atomic(out_json, tok.dump());
  return info;
}

}  // namespace lr
