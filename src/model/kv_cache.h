#pragma once
// Keys and values of every block for the positions seen so far, per layer in the layout the
// attention kernel reads (kernels/cpu/attention.h: per kv head, keys in transposed tiles of
// 64 positions, values as rows), for capacity() >= max_T positions.
#include <memory>
#include <vector>

namespace lr {

class KVCache {
 public:
  KVCache() = default;
  KVCache(int n_layers, int kv_dim, int max_T);

  int n_layers() const { return int(k_.size()); }
  int kv_dim() const { return kv_dim_; }
  int max_T() const { return max_T_; }
  int capacity() const { return cap_; }  // max_T rounded up to whole key tiles

  float* k(int layer) { return k_[layer].get(); }
  float* v(int layer) { return v_[layer].get(); }
  const float* k(int layer) const { return k_[layer].get(); }
  const float* v(int layer) const { return v_[layer].get(); }

  // Positions [0, len) are in use (by the session that owns the cache). Per-layer fill
  // can lag behind len when routing skips blocks; that bookkeeping lives with the router.
  int len = 0;
  void reset() { len = 0; }

 private:
  int kv_dim_ = 0, max_T_ = 0, cap_ = 0;
  // Uninitialised on purpose: pages are only touched (and committed) as positions fill.
  std::vector<std::unique_ptr<float[]>> k_, v_;
};

}  // namespace lr
