#pragma once
// SwiGLU activation of the MLP: out = silu(gate) * up, silu(g) = g / (1 + exp(-g)).
#include <cstddef>

namespace lr {

// out may alias gate or up.
void silu_mul(const float* gate, const float* up, float* out, size_t n);

}  // namespace lr
