#pragma once
// RMSNorm over rows: y = x / sqrt(mean(x^2) + eps) * w (HF Qwen2/Llama RMSNorm).
namespace lr {

// x, y [T, H] (may alias), w [H]. inv_rms [T] (optional) receives each row's
// 1 / sqrt(mean(x^2) + eps), which training keeps for the backward pass.
void rmsnorm(const float* x, const float* w, float* y, long T, int H, float eps,
             float* inv_rms = nullptr);

}  // namespace lr
