#pragma once
// Shared by the libFuzzer targets: the readers take paths, so an input reaches them through
// a private scratch directory (removed at exit); a target that needs several files splits
// its input at kSep.
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

namespace lr::fuzz {

// A line no real file holds; the dictionaries list it so the fuzzer finds it cheaply.
constexpr std::string_view kSep = "\n--next-file--\n";

class Scratch {
 public:
  Scratch() {
    dir_ = (std::filesystem::temp_directory_path() / ("lr_fuzz_" + std::to_string(::getpid())))
               .string();
    std::filesystem::create_directories(dir_);
  }
  ~Scratch() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  const std::string& dir() const { return dir_; }
  // Writes DIR/name (truncating) and returns its path.
  std::string write(const std::string& name, std::string_view bytes) const {
    const std::string p = dir_ + "/" + name;
    std::ofstream(p, std::ios::binary | std::ios::trunc).write(bytes.data(), bytes.size());
    return p;
  }
  void remove(const std::string& name) const {
    std::error_code ec;
    std::filesystem::remove(dir_ + "/" + name, ec);
  }

 private:
  std::string dir_;
};

inline const Scratch& scratch() {
  static const Scratch s;
  return s;
}

// The first n - 1 separators cut the input into n parts (missing parts are empty).
inline std::vector<std::string_view> split_parts(std::string_view in, size_t n) {
  std::vector<std::string_view> parts;
  while (parts.size() + 1 < n) {
    const size_t k = in.find(kSep);
    if (k == std::string_view::npos) break;
    parts.push_back(in.substr(0, k));
    in.remove_prefix(k + kSep.size());
  }
  parts.push_back(in);
  parts.resize(n);
  return parts;
}

inline std::string_view as_view(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace lr::fuzz
