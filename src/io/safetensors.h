#pragma once
// safetensors: an 8-byte little-endian header length, a JSON header
// {"name": {"dtype","shape","data_offsets":[begin,end]}, "__metadata__": {...}}, then data.
// Files are mmapped read-only; every header field is validated on open.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/dtype.h"

namespace lr {

struct TensorInfo {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  size_t begin = 0, end = 0;  // byte offsets inside the data section
  size_t numel() const;
};

class SafetensorsFile {
 public:
  // Throws lr::Error naming the file (and tensor) for: missing file, header length out of
  // bounds, header not JSON, unknown dtype, shape x dtype size != byte range, range outside
  // the file, overlapping ranges.
  explicit SafetensorsFile(const std::string& path);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return path_; }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* find(std::string_view name) const;  // nullptr when absent
  const void* data(const TensorInfo& t) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  std::string path_;
  void* map_ = nullptr;
  size_t map_size_ = 0;
  size_t data_start_ = 0;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, std::string> metadata_;
};

// A tensor found in a checkpoint: where it lives and its raw bytes.
struct TensorRef {
  const TensorInfo* info;
  const void* data;
  const std::string* file;
};

// A model directory: model.safetensors, or model.safetensors.index.json + shards.
class Checkpoint {
 public:
  static Checkpoint open_dir(const std::string& dir);  // throws when neither layout exists
  static Checkpoint open_file(const std::string& path);

  bool has(std::string_view name) const;
  TensorRef get(std::string_view name) const;  // throws "DIR: tensor NAME missing"
  // Converts to float32 and checks the shape; throws "FILE: tensor NAME has shape [a, b],
  // expected [c, d]".
  std::vector<float> load_f32(std::string_view name, const std::vector<int64_t>& shape) const;
  std::vector<std::string> names() const;
  const std::string& where() const { return where_; }

 private:
  std::string where_;
  std::vector<std::shared_ptr<SafetensorsFile>> files_;
  std::map<std::string, std::pair<size_t, const TensorInfo*>, std::less<>> index_;
};

struct TensorToWrite {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  const void* data;  // numel * dtype_size bytes
};

// Writes atomically (temp file + rename). Tensors are laid out in the given order.
void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

std::string shape_str(const std::vector<int64_t>& shape);  // "[2, 3]"

}  // namespace lr
