#pragma once
// RMSNorm over rows: y = x / sqrt(mean(x^2) + eps) * w (HF Qwen2/Llama RMSNorm).
namespace lr {

// x, y [T, H] (may alias), w [H].
void rmsnorm(const float* x, const float* w, float* y, int T, int H, float eps);

}  // namespace lr
