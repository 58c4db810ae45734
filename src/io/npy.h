#pragma once
// NumPy .npy (version 1.0, little-endian float32, C order) for logits in and out.
#include <cstdint>
#include <string>
#include <vector>

namespace lr {

struct NpyArray {
  std::vector<int64_t> shape;
  std::vector<float> data;
};

void write_npy_f32(const std::string& path, const float* data, const std::vector<int64_t>& shape);
NpyArray read_npy_f32(const std::string& path);  // throws naming the file on bad header/dtype

}  // namespace lr
