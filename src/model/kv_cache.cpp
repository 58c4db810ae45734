#include "model/kv_cache.h"

#include "core/error.h"
#include "kernels/cpu/attention.h"

namespace lr {

KVCache::KVCache(int n_layers, int kv_dim, int max_T)
    : kv_dim_(kv_dim), max_T_(max_T), cap_(kv_capacity(max_T)) {
  LR_CHECK(n_layers > 0 && kv_dim > 0 && max_T > 0, "kv cache: bad shape ", n_layers, " x ", max_T,
           " x ", kv_dim);
  const size_t n = size_t(cap_) * kv_dim;
  for (int l = 0; l < n_layers; ++l) {
    k_.emplace_back(new float[n]);
    v_.emplace_back(new float[n]);
  }
}

}  // namespace lr
