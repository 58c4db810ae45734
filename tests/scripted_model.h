#pragma once
// A tiny model (the qwen2.5-tiny shape, Qwen tokenizer, untied LM head) whose weights are
// set by hand so that greedy decoding writes a given reply: a random model never writes a
// tool call, and an end-to-end tool round trip needs a model that does. Nothing in the
// engine or server knows about it; they run it like any other checkpoint.
//
// How it works. The reply is a chain of tokens, each chosen by the token before it (a
// bigram) and by one bit of context: whether the prompt holds a `marker` token (say the
// one that opens a tool result). Reserved hidden dimensions carry the state:
//   M      the marker's embedding (zero in every other token's),
//   F      written by block 0's attention: ~1 when a marker is anywhere before, else 0,
//   C      a constant 1 in every chain token's embedding,
//   D_s    one per chain token s (its one-hot embedding).
// Block 0 has one attention head with a constant query (its bias) and keys that read M,
// on the lowest RoPE frequency (practically no rotation), so it attends to the marker when
// there is one; its value reads M and the output projection writes F. Every other
// projection and every MLP's down projection are zero, so the blocks add nothing else.
// The LM head row of the token that follows s under marker bit m is
//   A e_{D_s} + B (+-) (e_F - e_C / 2),   + when m = 1, - when m = 0,
// which makes it the argmax by a margin of about B over the other branch (A >> B).
// Each (token, marker bit) may be followed by one token only: the reply texts must
// tokenize so that no token repeats within a reply with different successors.
#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"
#include "io/safetensors.h"
#include "model/presets.h"
#include "model/random_model_dir.h"
#include "model/weights.h"
#include "text/tokenizer.h"

namespace lr::test {

struct ScriptedModelSpec {
  std::string dir;            // written; must not exist
  std::string tokenizer_dir;  // the Qwen tokenizer.json + tokenizer_config.json
  std::string reply;          // greedy reply to a prompt without the marker
  std::string marked_reply;   // greedy reply to a prompt with the marker
  std::string marker;         // text of one token
  // Replies start after this text's last token (the chat template's generation prompt) and
  // end with <|im_end|>.
  std::string prompt_end = "<|im_start|>assistant\n";
};

inline void write_scripted_model(const ScriptedModelSpec& spec) {
  RandomModelOptions ro;
  ro.config = preset_config("qwen2.5-tiny");
  ro.config.tie_embeddings = false;
  ro.out_dir = spec.dir;
  ro.tokenizer_dir = spec.tokenizer_dir;
  ro.seed = 1;
  const ModelConfig c = write_random_model_dir(ro);
  const Tokenizer tok = Tokenizer::load(spec.dir);
  const int H = c.hidden, V = c.vocab, hd = c.head_dim;

  auto ids = [&](const std::string& text) {
    std::vector<int> v;
    for (int32_t id : tok.encode(text)) v.push_back(id);
    return v;
  };
  const std::vector<int> marker = ids(spec.marker);
  LR_CHECK(marker.size() == 1, "scripted model: marker '", spec.marker, "' is ", marker.size(),
           " tokens, not one");
  const int im_end = tok.token_to_id("<|im_end|>");
  LR_CHECK(im_end >= 0, "scripted model: no <|im_end|> token");

  // Rules (token, marker bit) -> next token.
  std::map<std::pair<int, int>, int> next;
  std::vector<int> states;
  for (int bit : {0, 1}) {
    std::vector<int> chain = {ids(spec.prompt_end).back()};
    for (int id : ids(bit ? spec.marked_reply : spec.reply)) chain.push_back(id);
    chain.push_back(im_end);
    for (size_t i = 0; i + 1 < chain.size(); ++i) {
      const auto key = std::pair{chain[i], bit};
      const auto it = next.find(key);
      LR_CHECK(it == next.end() || it->second == chain[i + 1], "scripted model: token ", chain[i],
               " is followed by two different tokens in reply ", bit);
      LR_CHECK(chain[i] != marker[0], "scripted model: the marker cannot be part of a reply");
      next[key] = chain[i + 1];
      if (std::find(states.begin(), states.end(), chain[i]) == states.end())
        states.push_back(chain[i]);
    }
  }
  const int M = 0, F = 1, C = 2, D0 = 3;
  LR_CHECK(D0 + int(states.size()) <= H, "scripted model: ", states.size(),
           " chain tokens do not fit the hidden size ", H);
  auto D = [&](int tok_id) {
    return D0 + int(std::find(states.begin(), states.end(), tok_id) - states.begin());
  };

  ModelWeights w = ModelWeights::random(c, ro.seed, ro.stddev);
  // Embeddings: the reserved dimensions are zero except where set below.
  for (int t = 0; t < V; ++t)
    for (int i = 0; i < D0 + int(states.size()); ++i) w.embed.w[size_t(t) * H + i] = 0.f;
  auto embed_only = [&](int t, std::initializer_list<int> dims) {
    float* e = w.embed.w.data() + size_t(t) * H;
    std::fill(e, e + H, 0.f);
    for (int d : dims) e[d] = 1.f;
  };
  embed_only(marker[0], {M});
  for (int s : states) embed_only(s, {C, D(s)});

  for (size_t l = 0; l < w.layers.size(); ++l) {
    BlockWeights& b = w.layers[l];
    for (Linear* L : {&b.q, &b.k, &b.v, &b.o, &b.down}) {
      std::fill(L->w.begin(), L->w.end(), 0.f);
      std::fill(L->bias.begin(), L->bias.end(), 0.f);
    }
    std::fill(b.ln_in.begin(), b.ln_in.end(), 1.f);
  }
  // Block 0, query head 0 (kv head 0): RoPE pair (hd/2 - 1, hd - 1) turns slowest.
  BlockWeights& b0 = w.layers[0];
  const int slow = hd / 2 - 1;
  b0.q.bias[size_t(slow)] = 16.f;                 // constant query
  b0.k.w[size_t(slow) * H + M] = 1.f;             // key: the marker (8 after RMSNorm), else 0
  b0.v.w[size_t(0) * H + M] = 1.f;                // value: likewise
  b0.o.w[size_t(F) * b0.o.cols + 0] = 1.f / 8.f;  // F = attention on markers
  std::fill(w.norm.begin(), w.norm.end(), 1.f);

  const float A = 10.f, B = 2.f;
  std::fill(w.lm_head.w.begin(), w.lm_head.w.end(), 0.f);
  for (const auto& [key, to] : next) {
    float* row = w.lm_head.w.data() + size_t(to) * H;
    const float sign = key.second ? 1.f : -1.f;
    row[D(key.first)] += A;
    row[F] += sign * B;
    row[C] -= sign * B / 2;
  }
  write_safetensors(spec.dir + "/model.safetensors", w.to_tensors(),
                    {{"format", "pt"}, {"layerroute", "scripted test model"}});
}

}  // namespace lr::test
