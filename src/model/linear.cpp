#include "model/linear.h"

#include <cstring>

#include "core/dtype.h"
#include "core/error.h"
#include "kernels/cpu/gemv.h"
#include "kernels/cpu/linear.h"

namespace lr {

const char* weights_dtype_name(WeightsDType d) {
  switch (d) {
    case WeightsDType::F32:
      return "f32";
    case WeightsDType::BF16:
      return "bf16";
    case WeightsDType::Q8:
      break;
  }
  return "q8";
}

namespace {

// The stored weights as f32 [rows, cols].
std::vector<float> to_f32(const Linear& L) {
  std::vector<float> f(size_t(L.rows) * L.cols);
  for (int r = 0; r < L.rows; ++r) L.row_f32(r, f.data() + size_t(r) * L.cols);
  return f;
}

}  // namespace

void Linear::row_f32(int r, float* out) const {
  if (dtype == WeightsDType::F32) {
    std::memcpy(out, w.data() + size_t(r) * cols, sizeof(float) * cols);
  } else if (bf16_panels()) {
    unpack_bf16_rows(bf16_panel.data(), r, 1, cols, out);
  } else if (dtype == WeightsDType::BF16) {
    const uint16_t* src = w_bf16.data() + size_t(r) * cols;
    for (int i = 0; i < cols; ++i) out[i] = bf16_to_f32(src[i]);
  } else if (q8_panels()) {
    dequantize_q8_panels(q8_panel.data(), r, 1, cols, out);
  } else {
    dequantize_q8(w_q8.data(), q8_scale.data(), r, 1, cols, out);
  }
}

void Linear::convert(WeightsDType to) {
  if (to == dtype) return;
  const size_t n = size_t(rows) * cols;
  std::vector<float> f;
  if (dtype == WeightsDType::F32)
    f.swap(w);
  else
    f = to_f32(*this);
  std::vector<uint16_t>().swap(w_bf16);
  huge_vector<uint16_t>().swap(bf16_panel);
  std::vector<int8_t>().swap(w_q8);
  std::vector<float>().swap(q8_scale);
  huge_vector<uint8_t>().swap(q8_panel);
  if (to == WeightsDType::F32) {
    w.swap(f);
  } else if (to == WeightsDType::BF16) {
    w_bf16.resize(n);
    for (size_t i = 0; i < n; ++i) w_bf16[i] = f32_to_bf16(f[i]);
  } else {
    w_q8.resize(n);
    q8_scale.resize(size_t(rows) * q8_blocks(cols));
    quantize_q8(f.data(), rows, cols, w_q8.data(), q8_scale.data());
  }
  dtype = to;
}

void Linear::pack_decode_panels() {
  if (dtype == WeightsDType::BF16 && !bf16_panels() && bf16_panels_fit(rows, cols)) {
    bf16_panel.resize(w_bf16.size());
    lr::pack_bf16_panels(w_bf16.data(), rows, cols, bf16_panel.data());
    std::vector<uint16_t>().swap(w_bf16);
  } else if (dtype == WeightsDType::Q8 && !q8_panels() && q8_panels_fit(rows, cols)) {
    q8_panel.resize(q8_panels_bytes(rows, cols));
    lr::pack_q8_panels(w_q8.data(), q8_scale.data(), rows, cols, q8_panel.data());
    std::vector<int8_t>().swap(w_q8);
    std::vector<float>().swap(q8_scale);
  }
}

namespace {

GemmWeights gemm_weights_of(const Linear& L) {
  if (L.dtype == WeightsDType::F32) return gemm_weights_f32(L.w.data(), L.rows, L.cols);
  if (L.bf16_panels()) return gemm_weights_bf16_panels(L.bf16_panel.data(), L.rows, L.cols);
  if (L.dtype == WeightsDType::BF16) return gemm_weights_bf16(L.w_bf16.data(), L.rows, L.cols);
  if (L.q8_panels()) return gemm_weights_q8_panels(L.q8_panel.data(), L.rows, L.cols);
  return gemm_weights_q8(L.w_q8.data(), L.q8_scale.data(), L.rows, L.cols);
}

}  // namespace

void apply_linear(const Linear& L, const float* x, int M, float* y, bool accumulate, RowKernel k) {
  const float* b = L.bias.empty() ? nullptr : L.bias.data();
  if (k == RowKernel::Gemv && M >= kGemmMinRows) {
    // What linear_* call below kGemmMinRows rows, for any M.
    if (L.dtype == WeightsDType::F32)
      gemv_f32(L.w.data(), L.rows, L.cols, b, x, M, y, accumulate);
    else if (L.bf16_panels())
      gemv_bf16_panels(L.bf16_panel.data(), L.rows, L.cols, b, x, M, y, accumulate);
    else if (L.dtype == WeightsDType::BF16)
      gemv_bf16(L.w_bf16.data(), L.rows, L.cols, b, x, M, y, accumulate);
    else if (L.q8_panels())
      gemv_q8_panels(L.q8_panel.data(), L.rows, L.cols, b, x, M, y, accumulate);
    else
      gemv_q8(L.w_q8.data(), L.q8_scale.data(), L.rows, L.cols, b, x, M, y, accumulate);
    return;
  }
  if (L.dtype == WeightsDType::F32)
    linear_f32(x, M, L.cols, L.w.data(), L.rows, b, y, accumulate);
  else if (L.bf16_panels())
    linear_bf16_panels(x, M, L.cols, L.bf16_panel.data(), L.rows, b, y, accumulate);
  else if (L.dtype == WeightsDType::BF16)
    linear_bf16(x, M, L.cols, L.w_bf16.data(), L.rows, b, y, accumulate);
  else if (L.q8_panels())
    linear_q8_panels(x, M, L.cols, L.q8_panel.data(), L.rows, b, y, accumulate);
  else
    linear_q8(x, M, L.cols, L.w_q8.data(), L.q8_scale.data(), L.rows, b, y, accumulate);
}

void apply_linears(const Linear* const* Ls, int count, const float* x, int M, float* const* ys,
                   RowKernel k) {
  constexpr int kMax = 8;
  LR_CHECK(count > 0 && count <= kMax, "apply_linears: ", count, " projections");
  for (int i = 0; i < count; ++i)
    LR_CHECK(Ls[i]->cols == Ls[0]->cols, "apply_linears: projection ", i, " takes ", Ls[i]->cols,
             " inputs, not ", Ls[0]->cols);
  const float* bias[kMax];
  for (int i = 0; i < count; ++i) bias[i] = Ls[i]->bias.empty() ? nullptr : Ls[i]->bias.data();
  if (M < kGemmMinRows || k == RowKernel::Gemv) {
    // Decode: one GEMV call for all of them where they share a panel format (x prepared
    // once, one parallel call instead of count).
    bool bf16 = true, q8 = true;
    GemvOut outs[kMax];
    for (int i = 0; i < count; ++i) {
      const Linear& L = *Ls[i];
      bf16 = bf16 && L.bf16_panels();
      q8 = q8 && L.q8_panels();
      const void* w = L.bf16_panels() ? static_cast<const void*>(L.bf16_panel.data())
                                      : static_cast<const void*>(L.q8_panel.data());
      outs[i] = {w, L.rows, bias[i], ys[i], false};
    }
    if (bf16)
      gemv_bf16_panels_many(outs, count, Ls[0]->cols, x, M);
    else if (q8)
      gemv_q8_panels_many(outs, count, Ls[0]->cols, x, M);
    else
      for (int i = 0; i < count; ++i) apply_linear(*Ls[i], x, M, ys[i], false, RowKernel::Gemv);
    return;
  }
  GemmOut outs[kMax];
  for (int i = 0; i < count; ++i) outs[i] = {gemm_weights_of(*Ls[i]), bias[i], ys[i]};
  linear_gemm_many(x, M, outs, count);
}

}  // namespace lr
