// A batched step computes each row exactly as its sequence computes it alone (DESIGN §3
// Serving: a server's greedy output equals a lone run, token for token): the rows of a
// decode step, and short prompts stacked into one prefill, take the one-row kernel (the
// GEMV) however many they are, and a long prompt keeps the GEMM it takes alone. So nine
// rows decoding together give bit-identical logits to each decoding alone, with f32,
// bf16-panel and q8 weights, LoRA deltas and per-row gates, on every kernel path. (The
// GEMM's sums differ from the GEMV's, and it rounds x to bf16 on avx512bf16: decode rows
// sent to it would make a server return other greedy tokens than `layerroute generate`.)
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernel_test_util.h"
#include "kernels/cpu/linear.h"
#include "layerroute/routed_batch.h"
#include "layerroute/routed_session.h"
#include "routed_ref.h"

namespace lr {
namespace {

using namespace routed_test;

class BatchRowKernels : public CpuPathTest {};

std::vector<float> wave(size_t n, double f, float a) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = a * float(std::sin(f * double(i + 1)));
  return v;
}

TEST_P(BatchRowKernels, NineRowsComputeAsEachAlone) {
  const char* masks[] = {"1111", "1011", "0111", "1101"};
  for (WeightsDType dt : {WeightsDType::F32, WeightsDType::BF16, WeightsDType::Q8}) {
    SCOPED_TRACE(dt == WeightsDType::F32 ? "f32" : dt == WeightsDType::BF16 ? "bf16" : "q8");
    Model m = tiny_model(4);
    if (dt != WeightsDType::F32) {
      m.weights.convert(dt);
      m.weights.pack_decode_panels();
    }
    const int V = m.config.vocab, H = m.config.hidden, I = m.config.intermediate;
    // Rank-2 LoRA on q and down of every block.
    const int rank = 2;
    const auto qa = wave(size_t(rank) * H, 0.7, 0.3f), qb = wave(size_t(H) * rank, 1.1, 0.3f);
    const auto da = wave(size_t(rank) * I, 0.9, 0.3f), db = wave(size_t(H) * rank, 1.3, 0.3f);
    LowRankDeltas lora(m.config.n_layers);
    for (int l = 0; l < m.config.n_layers; ++l) {
      lora.at(l, Proj::Q) = {rank, H, m.config.q_dim(), 0.5f, qa.data(), qb.data()};
      lora.at(l, Proj::Down) = {rank, I, H, 0.5f, da.data(), db.data()};
    }
    const int R = 9;
    RoutedBatch b(m, nullptr, {}, R, 48);
    b.set_lora(&lora);
    std::vector<RoutedSession> solo;
    solo.reserve(R);
    std::vector<std::vector<int>> prompts;
    for (int r = 0; r < R; ++r) {
      // Short prompts around two long ones that lie next to each other (one GEMM call in
      // the batch, one each alone).
      const int T = r == 4 ? 10 : r == 5 ? 12 : 2 + r % 3;
      prompts.push_back(some_ids(T, V, r + 1));
      const GateSpec g = GateSpec::mask(masks[r % 4]);
      b.set_gates(r, g);
      solo.emplace_back(m, nullptr, RouteOptions{g, {}}, 48);
      solo.back().set_lora(&lora);
    }
    std::vector<std::span<const int>> in(prompts.begin(), prompts.end());
    b.prefill(in);
    std::vector<int> next(R);
    for (int r = 0; r < R; ++r) {
      const auto want = solo[size_t(r)].prefill(prompts[size_t(r)]);
      const auto got = b.logits(r);
      ASSERT_EQ(std::vector<float>(got.begin(), got.end()),
                std::vector<float>(want.begin(), want.end()))
          << "prefill, row " << r;
      next[size_t(r)] = int(std::max_element(got.begin(), got.end()) - got.begin());
    }
    for (int step = 0; step < 4; ++step) {
      b.decode(next);
      for (int r = 0; r < R; ++r) {
        const auto want = solo[size_t(r)].decode(next[size_t(r)]);
        const auto got = b.logits(r);
        ASSERT_EQ(std::vector<float>(got.begin(), got.end()),
                  std::vector<float>(want.begin(), want.end()))
            << "decode step " << step << ", row " << r;
        next[size_t(r)] = int(std::max_element(got.begin(), got.end()) - got.begin());
      }
    }
  }
}

LR_INSTANTIATE_CPU_PATHS(BatchRowKernels);

}  // namespace
}  // namespace lr
