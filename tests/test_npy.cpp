// .npy float32 writer/reader, checked against numpy's byte layout (golden logits.npy).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/json.h"
#include "io/npy.h"
#include "model/config.h"

namespace lr {
namespace {

namespace fs = std::filesystem;

std::string tmpdir() {
  const std::string d = testing::TempDir() + "lr_npy_" + std::to_string(getpid());
  fs::create_directories(d);
  return d;
}

std::string golden(const std::string& m) {
  return std::string(LR_SHARED_DIR) + "/fixtures/golden/" + m;
}

void expect_error(const std::string& path, const std::string& needle) {
  try {
    read_npy_f32(path);
    ADD_FAILURE() << "no error; expected " << needle;
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find(path), std::string::npos) << m;
    EXPECT_NE(m.find(needle), std::string::npos) << m;
  }
}

// A v1 or v2 file with a hand-written header dict.
void write_raw(const std::string& path, const std::string& dict, int version, size_t nfloats) {
  std::string b = "\x93NUMPY";
  b += char(version);
  b += char(0);
  const size_t n = dict.size();
  b += char(n & 0xff);
  b += char(n >> 8);
  if (version == 2) b += std::string(2, '\0');
  b += dict;
  for (size_t i = 0; i < nfloats; ++i) {
    const float f = float(i) + 0.5f;
    b.append(reinterpret_cast<const char*>(&f), 4);
  }
  std::ofstream(path, std::ios::binary) << b;
}

TEST(Npy, RoundTrip) {
  const std::string d = tmpdir();
  for (std::vector<int64_t> shape :
       {std::vector<int64_t>{2, 3}, {5}, {}, {2, 0, 4}, {1, 2, 3, 4}}) {
    size_t n = 1;
    for (auto s : shape) n *= size_t(s);
    std::vector<float> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = float(i) * -1.25f;
    write_npy_f32(d + "/a.npy", v.data(), shape);
    const std::string raw = read_file(d + "/a.npy");
    EXPECT_EQ((raw.size() - n * 4) % 64, 0u);  // numpy's 64-byte header alignment
    const NpyArray a = read_npy_f32(d + "/a.npy");
    EXPECT_EQ(a.shape, shape);
    EXPECT_EQ(a.data, v);
  }
}

TEST(Npy, HeaderMatchesNumpyBytes) {
  if (!fs::exists(golden(""))) GTEST_SKIP() << "shared dir absent: " << golden("");
  // Our header for the same shape must be byte-identical to the one numpy wrote.
  const std::string g = read_file(golden("qwen2-tiny/logits.npy"));
  const NpyArray a = read_npy_f32(golden("qwen2-tiny/logits.npy"));
  const std::string p = tmpdir() + "/same.npy";
  write_npy_f32(p, a.data.data(), a.shape);
  EXPECT_EQ(read_file(p), g);
}

TEST(Npy, GoldenLogitsShape) {
  if (!fs::exists(golden(""))) GTEST_SKIP() << "shared dir absent: " << golden("");
  for (std::string m : {"qwen2-tiny", "llama-tiny", "stories260K"}) {
    const NpyArray a = read_npy_f32(golden(m + "/logits.npy"));
    const Json ids = read_json_file(golden(m + "/ids.json"));
    const ModelConfig c = ModelConfig::load(golden(m));
    EXPECT_EQ(a.shape, (std::vector<int64_t>{int64_t(ids["ids"].size()), c.vocab})) << m;
    float mx = 0;
    for (float v : a.data) mx = std::max(mx, std::abs(v));
    EXPECT_GT(mx, 0.f) << m;
  }
}

TEST(Npy, Errors) {
  const std::string d = tmpdir();
  std::ofstream(d + "/magic.npy", std::ios::binary) << "PK\x03\x04 not numpy at all";
  expect_error(d + "/magic.npy", "bad magic");
  write_raw(d + "/f8.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }\n", 1, 4);
  expect_error(d + "/f8.npy", "dtype <f8 is not supported");
  write_raw(d + "/be.npy", "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }\n", 1, 2);
  expect_error(d + "/be.npy", "dtype >f4");
  write_raw(d + "/fo.npy", "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 1), }\n", 1, 2);
  expect_error(d + "/fo.npy", "fortran_order True");
  write_raw(d + "/short.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n", 1,
            5);
  expect_error(d + "/short.npy", "shape needs 6");
  write_raw(d + "/garb.npy", "{'descr': '<f4', 'shape': [2], }\n", 1, 2);
  expect_error(d + "/garb.npy", "malformed .npy header");
  write_raw(d + "/v9.npy", "{}", 9, 0);
  expect_error(d + "/v9.npy", "version 9");
  expect_error(d + "/absent.npy", "cannot read");
  std::ofstream(d + "/trunc.npy", std::ios::binary)
      << std::string("\x93NUMPY\x01\x00\xff\x00{", 11);
  expect_error(d + "/trunc.npy", "truncated");
}

TEST(Npy, ReadsVersion2) {
  const std::string p = tmpdir() + "/v2.npy";
  write_raw(p, "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (3, 1)}   \n", 2, 3);
  const NpyArray a = read_npy_f32(p);
  EXPECT_EQ(a.shape, (std::vector<int64_t>{3, 1}));
  EXPECT_EQ(a.data, (std::vector<float>{0.5f, 1.5f, 2.5f}));
}

}  // namespace
}  // namespace lr
