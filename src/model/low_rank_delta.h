#pragma once
// A low-rank additive term on a block projection, y += scale * (x A^T) B^T, described with
// raw pointers so the model layer can apply LoRA without knowing where adapters come from
// (model must not depend on layerroute, DESIGN §7).
#include <vector>

namespace lr {

// Projections of a block, for hooks that act on one of them (LoRA). Same order as
// LoraTarget so tables can be indexed by either.
enum class Proj { Q, K, V, O, Gate, Up, Down };
constexpr int kNumProj = 7;

struct LowRankDelta {
  int rank = 0, in = 0, out = 0;
  float scale = 0.f;
  const float* A = nullptr;  // [rank, in]
  const float* B = nullptr;  // [out, rank]
  // scale 0 switches a delta off without touching the tables.
  bool active() const { return rank > 0 && scale != 0.f && A && B; }
};

// One optional delta per (layer, projection). The pointed-to data must outlive every
// session the table is given to.
struct LowRankDeltas {
  int n_layers = 0;
  std::vector<LowRankDelta> table;  // [layer * kNumProj + proj]

  explicit LowRankDeltas(int layers = 0) : n_layers(layers), table(size_t(layers) * kNumProj) {}
  LowRankDelta& at(int l, Proj p) { return table[size_t(l) * kNumProj + size_t(p)]; }
  const LowRankDelta& at(int l, Proj p) const { return table[size_t(l) * kNumProj + size_t(p)]; }
  bool any_active() const {
    for (const auto& d : table)
      if (d.active()) return true;
    return false;
  }
  int max_rank() const {
    int r = 0;
    for (const auto& d : table)
      if (d.active() && d.rank > r) r = d.rank;
    return r;
  }
};

}  // namespace lr
