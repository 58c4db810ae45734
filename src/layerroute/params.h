#pragma once
// A named f32 tensor owned elsewhere, optionally with its gradient: the unit the optimizer,
// gradient checks and adapter writers iterate over.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "io/safetensors.h"

namespace lr {

struct TensorSlot {
  std::string name;            // Hugging Face / PEFT name
  std::vector<int64_t> shape;  // row-major
  float* data = nullptr;
  size_t numel = 0;
};

struct Param {
  std::string name;
  std::vector<int64_t> shape;
  float* data = nullptr;
  float* grad = nullptr;  // same numel; accumulated by backward, zeroed by zero_grad
  size_t numel = 0;
  bool decay = true;  // torch's AdamW decays every parameter of the group by default
};

// Slots as f32 tensors for write_safetensors (pointing into the slots' data).
inline std::vector<TensorToWrite> f32_tensors(const std::vector<TensorSlot>& slots) {
  std::vector<TensorToWrite> out;
  for (const TensorSlot& s : slots) out.push_back({s.name, DType::F32, s.shape, s.data});
  return out;
}

inline size_t numel_of(const std::vector<int64_t>& shape) {
  size_t n = 1;
  for (int64_t d : shape) n *= size_t(d);
  return n;
}

}  // namespace lr
