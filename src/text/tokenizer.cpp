#include "text/tokenizer.h"

#include <array>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unordered_map>

#include "core/error.h"
#include "io/json.h"
#include "text/bpe.h"
#include "text/byte_level.h"
#include "text/nfc.h"
#include "text/regex_split.h"
#include "text/utf8.h"

namespace lr {
namespace {

// A token id: an integer in [0, 2^31). Anything else (a float such as 1e10, whose cast to
// int is undefined) is an error naming the entry.
int32_t token_id(const nlohmann::json& v, const std::string& path, const std::string& what) {
  if (!v.is_number_integer() || (v.is_number_unsigned() ? v.get<uint64_t>() > 0x7fffffffULL
                                                        : (v.get<int64_t>() < 0 ||
                                                           v.get<int64_t>() > 0x7fffffffLL)))
    fail(path, ": ", what, " has id ", v.dump(), ", not an integer in [0, 2^31)");
  return int32_t(v.get<int64_t>());
}


// How far the largest token id may run past the number of tokens (see load).
constexpr size_t kMaxIdGap = size_t(1) << 16;

// Plain (std::map-backed) json: ordered_json's linear-time key lookup would make loading
// a 150k-entry vocab quadratic, and key order does not matter here.
using J = nlohmann::json;

J read_json(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, ": cannot read");
  std::ostringstream ss;
  ss << in.rdbuf();
  check_json_depth(ss.str(), path);
  try {
    return J::parse(ss.str());
  } catch (const J::exception& e) {
    fail(path, ": not valid JSON: ", e.what());
  }
}

std::string type_of(const J& j) {
  auto it = j.find("type");
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string("?");
}

bool flag(const J& j, const char* key, bool dflt) {
  auto it = j.find(key);
  return it == j.end() || it->is_null() ? dflt : it->get<bool>();
}

// Accepts null, NFC, and (nested) Sequences of those; sets *nfc when NFC appears.
void parse_normalizer(const J& j, const std::string& where, bool* nfc) {
  if (j.is_null()) return;
  std::string t = type_of(j);
  if (t == "NFC") {
    *nfc = true;
  } else if (t == "Sequence") {
    for (const J& n : j.at("normalizers")) parse_normalizer(n, where, nfc);
  } else {
    fail(where, ": unsupported normalizer '", t, "' (supported: NFC, Sequence of NFC, null)");
  }
}

// A literal Split pattern as a regex: escape ASCII punctuation, keep the rest.
std::string escape_literal(const std::string& s) {
  std::string out;
  for (char c : s) {
    auto u = uint8_t(c);
    if (u < 0x80 && !std::isalnum(u) && c != ' ') out += '\\';
    out += c;
  }
  return out;
}

void parse_pre_tokenizer(const J& j, const std::string& where, std::vector<RegexSplit>* splits,
                         bool* byte_level_seen) {
  if (j.is_null()) fail(where, ": a byte-level BPE needs a ByteLevel pre-tokenizer, got null");
  std::string t = type_of(j);
  if (*byte_level_seen) fail(where, ": pre-tokenizer '", t, "' after ByteLevel is not supported");
  if (t == "Sequence") {
    for (const J& p : j.at("pretokenizers")) parse_pre_tokenizer(p, where, splits, byte_level_seen);
  } else if (t == "Split") {
    std::string behavior = j.value("behavior", std::string("?"));
    if (behavior != "Isolated" || flag(j, "invert", false))
      fail(where, ": unsupported Split behavior '", behavior, "' (only Isolated, not inverted)");
    const J& pat = j.at("pattern");
    if (pat.contains("Regex"))
      splits->emplace_back(pat.at("Regex").get<std::string>(), where);
    else
      splits->emplace_back(escape_literal(pat.at("String").get<std::string>()), where);
  } else if (t == "ByteLevel") {
    if (flag(j, "add_prefix_space", true))
      fail(where, ": ByteLevel add_prefix_space=true is not supported");
    if (flag(j, "use_regex", true)) splits->emplace_back(kGpt2Pattern, where);
    *byte_level_seen = true;
  } else {
    fail(where, ": unsupported pre-tokenizer '", t, "' (supported: Split, ByteLevel, Sequence)");
  }
}

struct Added {
  std::string content;
  int32_t id;
};

constexpr uint8_t kAdded = 1, kSpecial = 2;

}  // namespace

struct Tokenizer::Impl {
  std::string path;
  bool use_nfc = false;
  std::vector<RegexSplit> splits;
  std::unique_ptr<Bpe> bpe;
  // Added tokens grouped by first byte, longest first, so the first hit is the longest.
  std::array<std::vector<Added>, 256> added_by_first;
  std::array<bool, 256> added_first{};
  bool any_added = false;
  std::unordered_map<std::string, int32_t> added_ids;
  std::vector<std::string> id_token;  // token text per id ("" for holes)
  std::vector<std::string> id_bytes;  // decoded bytes per id
  std::vector<uint8_t> id_flags;

  void encode_plain(std::string_view text, std::vector<int32_t>& out) const;
};

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::~Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;

Tokenizer Tokenizer::load(const std::string& path_in) {
  std::string path = path_in;
  if (std::filesystem::is_directory(path))
    path = (std::filesystem::path(path) / "tokenizer.json").string();
  J j = read_json(path);
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  try {
    if (!j.is_object() || !j.contains("model")) fail(path, ": no \"model\" in tokenizer JSON");
    const J& m = j.at("model");
    std::string mt = m.value("type", std::string("BPE"));
    if (mt != "BPE") fail(path, ": unsupported model type '", mt, "' (only BPE)");
    if (flag(m, "byte_fallback", false)) fail(path, ": BPE byte_fallback is not supported");
    for (const char* k : {"continuing_subword_prefix", "end_of_word_suffix"})
      if (m.contains(k) && !m[k].is_null() && !m[k].get<std::string>().empty())
        fail(path, ": BPE ", k, " is not supported");
    if (m.contains("dropout") && !m["dropout"].is_null() && m["dropout"].get<double>() != 0.0)
      fail(path, ": BPE dropout is not supported");

    parse_normalizer(j.value("normalizer", J()), path, &impl->use_nfc);
    bool byte_level_seen = false;
    parse_pre_tokenizer(j.value("pre_tokenizer", J()), path, &impl->splits, &byte_level_seen);
    if (!byte_level_seen) fail(path, ": the pre-tokenizer has no ByteLevel step");
    J dec = j.value("decoder", J());
    if (!dec.is_null() && type_of(dec) != "ByteLevel")
      fail(path, ": unsupported decoder '", type_of(dec), "' (only ByteLevel)");

    std::unordered_map<std::string, int32_t> vocab;
    const J& v = m.at("vocab");
    vocab.reserve(v.size());
    int32_t max_id = -1;
    for (auto it = v.begin(); it != v.end(); ++it) {
      const int32_t id = token_id(it.value(), path, "vocab entry '" + it.key() + "'");
      vocab.emplace(it.key(), id);
      max_id = std::max(max_id, id);
    }
    std::vector<std::pair<std::string, std::string>> merges;
    // Each merge makes a vocab token, so real files hold fewer merges than tokens (Qwen2.5:
    // 151,387 for 151,643); more than the vocab plus kMaxIdGap is not a tokenizer.
    if (m.at("merges").size() > vocab.size() + kMaxIdGap)
      fail(path, ": ", m.at("merges").size(), " merges for a vocab of ", vocab.size(),
           " tokens (at most ", vocab.size() + kMaxIdGap, ")");
    merges.reserve(m.at("merges").size());
    for (const J& mg : m.at("merges")) {
      if (mg.is_string()) {
        const std::string& s = mg.get_ref<const std::string&>();
        size_t sp = s.find(' ');
        if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos)
          fail(path, ": malformed merge '", s, "'");
        merges.emplace_back(s.substr(0, sp), s.substr(sp + 1));
      } else {
        if (!mg.is_array() || mg.size() != 2) fail(path, ": malformed merge ", mg.dump());
        merges.emplace_back(mg[0].get<std::string>(), mg[1].get<std::string>());
      }
    }

    std::vector<std::pair<Added, bool>> added;
    for (const J& a : j.value("added_tokens", J::array())) {
      Added t{a.at("content").get<std::string>(), token_id(a.at("id"), path, "added token")};
      if (t.content.empty() || t.id < 0) fail(path, ": invalid added token ", a.dump());
      for (const char* k : {"lstrip", "rstrip", "single_word"})
        if (flag(a, k, false))
          fail(path, ": added token '", t.content, "' uses ", k, ", which is not supported");
      // normalized=true tokens are matched on the raw text too: with NFC as the only
      // normaliser that differs only for tokens that NFC would change.
      added.emplace_back(t, flag(a, "special", false));
      max_id = std::max(max_id, t.id);
    }

    // The id tables are sized by the largest id: bound it by the number of tokens the file
    // holds, so a 30-byte file cannot claim id 2^31 - 1 and ask for gigabytes. Real
    // tokenizers number their tokens densely; kMaxIdGap leaves room for holes.
    const size_t entries = vocab.size() + added.size();
    if (size_t(max_id) >= entries + kMaxIdGap)
      fail(path, ": token id ", max_id, " is out of range for a tokenizer of ", entries,
           " tokens (ids must be below ", entries + kMaxIdGap, ")");
    size_t n = size_t(max_id) + 1;
    impl->id_token.assign(n, "");
    impl->id_bytes.assign(n, "");
    impl->id_flags.assign(n, 0);
    for (const auto& [tok, id] : vocab) {
      impl->id_token[size_t(id)] = tok;
      if (!byte_level::decode(tok, impl->id_bytes[size_t(id)])) impl->id_bytes[size_t(id)] = tok;
    }
    for (auto& [t, special] : added) {
      impl->id_token[size_t(t.id)] = t.content;
      impl->id_bytes[size_t(t.id)] = t.content;
      impl->id_flags[size_t(t.id)] = uint8_t(kAdded | (special ? kSpecial : 0));
      impl->added_ids[t.content] = t.id;
      uint8_t first = uint8_t(t.content[0]);
      impl->added_first[first] = true;
      impl->added_by_first[first].push_back(t);
      impl->any_added = true;
    }
    for (auto& group : impl->added_by_first)
      std::stable_sort(group.begin(), group.end(), [](const Added& a, const Added& b) {
        return a.content.size() > b.content.size();
      });
    impl->bpe =
        std::make_unique<Bpe>(std::move(vocab), merges, flag(m, "ignore_merges", false), path);
  } catch (const J::exception& e) {
    fail(path, ": malformed tokenizer JSON: ", e.what());
  }
  return Tokenizer(std::move(impl));
}

void Tokenizer::Impl::encode_plain(std::string_view text, std::vector<int32_t>& out) const {
  if (text.empty()) return;
  thread_local std::string clean;
  thread_local std::string normal;
  thread_local std::vector<std::pair<size_t, size_t>> pieces, sub;
  std::string_view s = text;
  if (!utf8::is_ascii(s)) {
    // Text from files may hold invalid UTF-8; tokenise it as U+FFFD, as Python/Rust callers
    // would after a lossy decode, instead of failing mid-dataset.
    if (!utf8::is_valid(s)) {
      clean.clear();
      utf8::append_lossy(s, clean);
      s = clean;
    }
    // ASCII is NFC-invariant, and most other text passes the quick check.
    if (use_nfc && !nfc::quick_check(s)) {
      nfc::normalize(s, normal);
      s = normal;
    }
  }
  pieces.clear();
  if (splits.empty()) {
    pieces.emplace_back(0, s.size());
  } else {
    splits[0].split(s, pieces);
    for (size_t k = 1; k < splits.size(); ++k) {
      sub.clear();
      for (auto [b, e] : pieces) {
        size_t first = sub.size();
        splits[k].split(s.substr(b, e - b), sub);
        for (size_t q = first; q < sub.size(); ++q) sub[q] = {sub[q].first + b, sub[q].second + b};
      }
      pieces.swap(sub);
    }
  }
  for (auto [b, e] : pieces) bpe->encode_word(s.substr(b, e - b), out);
}

std::vector<int32_t> Tokenizer::encode(std::string_view text) const {
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 8);
  const Impl& im = *impl_;
  if (!im.any_added) {
    im.encode_plain(text, out);
    return out;
  }
  size_t seg = 0;
  for (size_t i = 0; i < text.size();) {
    uint8_t b = uint8_t(text[i]);
    const Added* hit = nullptr;
    if (im.added_first[b]) {
      std::string_view rest = text.substr(i);
      for (const Added& a : im.added_by_first[b])
        if (rest.starts_with(a.content)) {
          hit = &a;
          break;
        }
    }
    if (!hit) {
      ++i;
      continue;
    }
    im.encode_plain(text.substr(seg, i - seg), out);
    out.push_back(hit->id);
    i += hit->content.size();
    seg = i;
  }
  im.encode_plain(text.substr(seg), out);
  return out;
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids, bool skip_special) const {
  std::string out;
  const Impl& im = *impl_;
  for (int32_t id : ids) {
    if (id < 0 || size_t(id) >= im.id_bytes.size()) continue;  // unknown ids decode to nothing
    if (skip_special && (im.id_flags[size_t(id)] & kSpecial)) continue;
    out += im.id_bytes[size_t(id)];
  }
  return out;
}

int32_t Tokenizer::token_to_id(std::string_view token) const {
  std::string key(token);
  auto it = impl_->added_ids.find(key);
  if (it != impl_->added_ids.end()) return it->second;
  auto jt = impl_->bpe->vocab().find(key);
  return jt == impl_->bpe->vocab().end() ? -1 : jt->second;
}

std::string Tokenizer::id_to_token(int32_t id) const {
  if (id < 0 || size_t(id) >= impl_->id_token.size()) return "";
  return impl_->id_token[size_t(id)];
}

bool Tokenizer::is_special(int32_t id) const {
  return id >= 0 && size_t(id) < impl_->id_flags.size() && (impl_->id_flags[size_t(id)] & kSpecial);
}

size_t Tokenizer::vocab_size() const {
  return impl_->id_token.size();
}

std::string StreamDecoder::push(int32_t id) {
  pending_ += tok_.decode({id}, skip_special_);
  size_t keep = utf8::incomplete_tail(pending_);
  std::string out;
  utf8::append_lossy(std::string_view(pending_).substr(0, pending_.size() - keep), out);
  pending_.erase(0, pending_.size() - keep);
  return out;
}

std::string StreamDecoder::flush() {
  std::string out;
  utf8::append_lossy(pending_, out);
  pending_.clear();
  return out;
}

}  // namespace lr
