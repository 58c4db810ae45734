#include "model/linear.h"

#include <cstring>

#include "core/dtype.h"
#include "kernels/cpu/linear.h"

namespace lr {

void Linear::row_f32(int r, float* out) const {
  if (dtype == WeightsDType::F32) {
    std::memcpy(out, w.data() + size_t(r) * cols, sizeof(float) * cols);
  } else {
    const uint16_t* src = w_bf16.data() + size_t(r) * cols;
    for (int i = 0; i < cols; ++i) out[i] = bf16_to_f32(src[i]);
  }
}

void Linear::convert(WeightsDType to) {
  if (to == dtype) return;
  const size_t n = size_t(rows) * cols;
  if (to == WeightsDType::BF16) {
    w_bf16.resize(n);
    for (size_t i = 0; i < n; ++i) w_bf16[i] = f32_to_bf16(w[i]);
    std::vector<float>().swap(w);
  } else {
    w.resize(n);
    for (size_t i = 0; i < n; ++i) w[i] = bf16_to_f32(w_bf16[i]);
    std::vector<uint16_t>().swap(w_bf16);
  }
  dtype = to;
}

void apply_linear(const Linear& L, const float* x, int M, float* y, bool accumulate) {
  const float* b = L.bias.empty() ? nullptr : L.bias.data();
  if (L.dtype == WeightsDType::F32)
    linear_f32(x, M, L.cols, L.w.data(), L.rows, b, y, accumulate);
  else
    linear_bf16(x, M, L.cols, L.w_bf16.data(), L.rows, b, y, accumulate);
}

}  // namespace lr
