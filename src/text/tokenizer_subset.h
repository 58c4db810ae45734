#pragma once
// A smaller byte-level BPE cut from a larger one: the first `keep` ids of the vocabulary
// and the merges among them (a consistent prefix, since BPE ids follow merge order), with
// the added tokens renumbered to follow. Small models built from scratch (the demo) keep
// the real tokenizer's behaviour and ChatML markers without a 152k-row embedding.
#include <cstdint>
#include <string>

namespace lr {

struct TokenizerSubsetInfo {
  int64_t kept_vocab = 0, kept_merges = 0, added = 0;
  int64_t vocab_size() const { return kept_vocab + added; }
};

// Reads src_json (a tokenizer.json), writes out_json atomically. Added tokens with ids in
// [drop_added_from, drop_added_to] are left out (e.g. Qwen3-only tokens). Throws naming
// the file.
TokenizerSubsetInfo write_tokenizer_subset(const std::string& src_json, const std::string& out_json,
                                           int64_t keep, int64_t drop_added_from = -1,
                                           int64_t drop_added_to = -1);

}  // namespace lr
