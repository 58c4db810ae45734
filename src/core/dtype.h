#pragma once
// Storage dtypes of checkpoints and their scalar conversions to float.
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace lr {

enum class DType { F32, BF16, F16 };

size_t dtype_size(DType t);
std::string_view dtype_name(DType t);           // "F32", "BF16", "F16" (safetensors spelling)
bool parse_dtype(std::string_view s, DType* out);  // false when unknown

inline float bf16_to_f32(uint16_t h) {
  uint32_t u = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// Round to nearest even, as torch does; NaN stays NaN.
inline uint16_t f32_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u);
  return uint16_t(u >> 16);
}

float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);

// Converts n elements stored as `t` at src into float at dst.
void convert_to_f32(DType t, const void* src, float* dst, size_t n);

}  // namespace lr
