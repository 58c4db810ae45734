// Whole-model decode and prefill at the Qwen2.5-0.5B shape with random weights (built once
// per dtype, lazily, so filtering to other benchmarks costs nothing). Reports tokens/s.
#include <benchmark/benchmark.h>

#include <map>
#include <memory>
#include <vector>

#include "model/forward.h"
#include "model/presets.h"

namespace {

const lr::Model& model(lr::WeightsDType dt) {
  static std::map<lr::WeightsDType, std::unique_ptr<lr::Model>> models;
  auto& m = models[dt];
  if (!m) {
    m = std::make_unique<lr::Model>();
    m->config = lr::preset_config("qwen2.5-0.5b");
    m->weights = lr::ModelWeights::random(m->config, 1, 0.02f, dt);
    m->weights.pack_decode_panels();  // as an inference load does
  }
  return *m;
}

// Decode one token after a context of range(1) tokens.
void BM_decode(benchmark::State& st, lr::WeightsDType dt) {
  const lr::Model& m = model(dt);
  const int ctx = int(st.range(0));
  lr::InferenceSession s(m, ctx + 1024);
  std::vector<int> ids(ctx, 100);
  s.prefill(ids);
  int id = 100;
  for (auto _ : st) {
    if (s.pos() + 1 > ctx + 1024) {
      st.PauseTiming();
      s.reset();
      s.prefill(ids);
      st.ResumeTiming();
    }
    auto l = s.decode(id);
    benchmark::DoNotOptimize(l.data());
  }
  st.counters["tok/s"] = benchmark::Counter(double(st.iterations()), benchmark::Counter::kIsRate);
}

void BM_prefill(benchmark::State& st, lr::WeightsDType dt) {
  const lr::Model& m = model(dt);
  const int T = int(st.range(0));
  lr::InferenceSession s(m, T, 512);
  std::vector<int> ids(T, 100);
  for (auto _ : st) {
    s.reset();
    auto l = s.prefill(ids);
    benchmark::DoNotOptimize(l.data());
  }
  st.counters["tok/s"] =
      benchmark::Counter(double(st.iterations()) * T, benchmark::Counter::kIsRate);
}

BENCHMARK_CAPTURE(BM_decode, bf16, lr::WeightsDType::BF16)->Arg(16)->Arg(512)->UseRealTime();
BENCHMARK_CAPTURE(BM_decode, q8, lr::WeightsDType::Q8)->Arg(16)->Arg(512)->UseRealTime();
BENCHMARK_CAPTURE(BM_decode, f32, lr::WeightsDType::F32)->Arg(16)->UseRealTime();
BENCHMARK_CAPTURE(BM_prefill, bf16, lr::WeightsDType::BF16)->Arg(128)->Arg(512)->UseRealTime();
BENCHMARK_CAPTURE(BM_prefill, f32, lr::WeightsDType::F32)->Arg(128)->Arg(512)->UseRealTime();
BENCHMARK_CAPTURE(BM_prefill, q8, lr::WeightsDType::Q8)->Arg(512)->UseRealTime();

}  // namespace
