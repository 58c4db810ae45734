// safetensors reader/writer, Checkpoint over golden model dirs, and one test per kind of
// corrupt file (each must give a one-line lr::Error naming the file, tensor and problem).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <set>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/json.h"
#include "io/safetensors.h"

namespace lr {
namespace {

namespace fs = std::filesystem;

std::string tmpdir(const std::string& name) {
  const std::string d = testing::TempDir() + "lr_st_" + name + "_" + std::to_string(getpid());
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::string golden(const std::string& m) {
  return std::string(LR_SHARED_DIR) + "/fixtures/golden/" + m;
}

#define SKIP_WITHOUT_SHARED() \
  if (!fs::exists(golden(""))) GTEST_SKIP() << "shared dir absent: " << golden("")

// Writes [u64 len][header][data] with an optional forged length.
void write_raw(const std::string& path, const std::string& header, size_t data_bytes,
               int64_t len = -1) {
  std::string b(8, '\0');
  const uint64_t n = len < 0 ? header.size() : uint64_t(len);
  for (int i = 0; i < 8; ++i) b[i] = char(n >> (8 * i));
  b += header;
  b.append(data_bytes, '\x01');
  std::ofstream(path, std::ios::binary) << b;
}

// Runs f, expects lr::Error whose message holds every needle and is one line.
void expect_error(const std::function<void()>& f, const std::vector<std::string>& needles) {
  try {
    f();
    ADD_FAILURE() << "no error thrown; expected " << needles[0];
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
    for (const auto& n : needles) EXPECT_NE(m.find(n), std::string::npos) << n << " in: " << m;
  }
}

// One corrupt header -> error naming file + needles.
void expect_bad_header(const std::string& header, size_t data_bytes,
                       std::vector<std::string> needles) {
  const std::string p = tmpdir("bad") + "/bad.safetensors";
  write_raw(p, header, data_bytes);
  needles.push_back(p);
  expect_error([&] { SafetensorsFile f(p); }, needles);
}

TEST(Safetensors, RoundTripAllDtypes) {
  const std::string p = tmpdir("rt") + "/t.safetensors";
  std::vector<float> f32 = {1.5f, -2.25f, 3.0e-8f, 1e30f, 0.f, -0.f};
  std::vector<uint16_t> bf16, f16;
  for (float v : f32) bf16.push_back(f32_to_bf16(v));
  for (float v : {1.f, -0.5f, 65504.f, 6e-8f}) f16.push_back(f32_to_f16(v));
  const float scalar = 7.f;
  write_safetensors(p,
                    {{"a.f32", DType::F32, {2, 3}, f32.data()},
                     {"b.bf16", DType::BF16, {3, 2}, bf16.data()},
                     {"c.f16", DType::F16, {4}, f16.data()},
                     {"d.empty", DType::F32, {0, 5}, nullptr},
                     {"e.scalar", DType::F32, {}, &scalar}},
                    {{"format", "pt"}, {"note", "hi"}});
  // Header padded so data starts 8-byte aligned, as the Python library does.
  const std::string raw = read_file(p);
  uint64_t n = 0;
  std::memcpy(&n, raw.data(), 8);
  EXPECT_EQ((8 + n) % 8, 0u);
  EXPECT_EQ(raw.substr(8, 14), "{\"__metadata__");

  SafetensorsFile f(p);
  ASSERT_EQ(f.tensors().size(), 5u);
  EXPECT_EQ(f.tensors()[0].name, "a.f32");  // file order kept
  EXPECT_EQ(f.metadata().at("format"), "pt");
  EXPECT_EQ(f.metadata().at("note"), "hi");
  const TensorInfo* b = f.find("b.bf16");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->dtype, DType::BF16);
  EXPECT_EQ(b->shape, (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(std::memcmp(f.data(*b), bf16.data(), 12), 0);
  EXPECT_EQ(f.find("nope"), nullptr);

  Checkpoint c = Checkpoint::open_file(p);
  EXPECT_EQ(c.load_f32("a.f32", {2, 3}), f32);
  const auto bv = c.load_f32("b.bf16", {3, 2});
  for (size_t i = 0; i < f32.size(); ++i) EXPECT_EQ(bv[i], bf16_to_f32(bf16[i]));
  EXPECT_EQ(c.load_f32("c.f16", {4}),
            (std::vector<float>{1.f, -0.5f, 65504.f, f16_to_f32(f16[3])}));
  EXPECT_TRUE(c.load_f32("d.empty", {0, 5}).empty());
  EXPECT_EQ(c.load_f32("e.scalar", {}), std::vector<float>{7.f});
  EXPECT_EQ(c.names().size(), 5u);
  EXPECT_TRUE(c.has("c.f16"));
  expect_error(
      [&] {
        c.load_f32("a.f32", {3, 2});
      },
      {p, "a.f32", "has shape [2, 3], expected [3, 2]"});
  expect_error([&] { c.get("zzz"); }, {p, "tensor zzz missing"});
}

TEST(Safetensors, UnalignedDataIsConverted) {
  // A hand-made file whose header length is odd: data starts unaligned.
  const std::string p = tmpdir("unal") + "/u.safetensors";
  const std::string h = R"({"x":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}})";
  ASSERT_EQ(h.size() % 2, 1u);
  std::string b(8, '\0');
  b[0] = char(h.size());
  b += h;
  const uint16_t v[2] = {f32_to_bf16(1.f), f32_to_bf16(-3.f)};
  b.append(reinterpret_cast<const char*>(v), 4);
  std::ofstream(p, std::ios::binary) << b;
  EXPECT_EQ(Checkpoint::open_file(p).load_f32("x", {2}), (std::vector<float>{1.f, -3.f}));
}

TEST(Safetensors, GoldenDirsAgreeAcrossLayouts) {
  SKIP_WITHOUT_SHARED();
  for (std::string m : {"qwen2-tiny", "llama-tiny"}) {
    Checkpoint single = Checkpoint::open_dir(golden(m));
    Checkpoint bf = Checkpoint::open_dir(golden(m + "-bf16"));
    Checkpoint sharded = Checkpoint::open_dir(golden(m + "-sharded"));
    EXPECT_EQ(single.where(), golden(m));
    ASSERT_GT(single.names().size(), 5u) << m;
    EXPECT_EQ(single.names(), bf.names()) << m;
    EXPECT_EQ(single.names(), sharded.names()) << m;
    EXPECT_TRUE(single.has("model.embed_tokens.weight"));
    for (const auto& name : single.names()) {
      const TensorRef r = single.get(name);
      EXPECT_EQ(r.info->dtype, DType::F32) << name;
      EXPECT_EQ(bf.get(name).info->dtype, DType::BF16) << name;
      const auto& shape = r.info->shape;
      const auto a = single.load_f32(name, shape);
      const auto s = sharded.load_f32(name, shape);
      const auto b = bf.load_f32(name, shape);
      ASSERT_EQ(a, s) << m << " " << name;
      ASSERT_EQ(a.size(), b.size());
      size_t bad = 0;
      for (size_t i = 0; i < a.size(); ++i) bad += bf16_to_f32(f32_to_bf16(a[i])) != b[i];
      EXPECT_EQ(bad, 0u) << m << " " << name;
    }
    // The sharded layout really spans two files.
    std::set<std::string> files;
    for (const auto& name : sharded.names()) files.insert(*sharded.get(name).file);
    EXPECT_EQ(files.size(), 2u) << m;
  }
}

TEST(Safetensors, OpenDirErrors) {
  const std::string d = tmpdir("dir");
  expect_error([&] { Checkpoint::open_dir(d); }, {d, "no model.safetensors"});

  // Index naming a missing shard.
  const float x[2] = {1, 2};
  write_safetensors(d + "/s1.safetensors", {{"a", DType::F32, {2}, x}});
  write_file_atomic(d + "/model.safetensors.index.json",
                    R"({"weight_map": {"a": "s1.safetensors", "b": "s2.safetensors"}})");
  expect_error([&] { Checkpoint::open_dir(d); },
               {d + "/model.safetensors.index.json", "s2.safetensors", "missing", "tensor b"});

  // Index mapping a tensor to a shard that lacks it.
  write_safetensors(d + "/s2.safetensors", {{"c", DType::F32, {2}, x}});
  expect_error([&] { Checkpoint::open_dir(d); },
               {"model.safetensors.index.json", "tensor b", "s2.safetensors", "does not contain"});

  write_file_atomic(d + "/model.safetensors.index.json", R"({"metadata": {}})");
  expect_error([&] { Checkpoint::open_dir(d); }, {"index.json", "weight_map"});
  write_file_atomic(d + "/model.safetensors.index.json", R"({"weight_map": {"a": "../x"}})");
  expect_error([&] { Checkpoint::open_dir(d); }, {"index.json", "invalid shard"});
  write_file_atomic(d + "/model.safetensors.index.json", "{oops");
  expect_error([&] { Checkpoint::open_dir(d); }, {"index.json", "not valid JSON"});

  // Index OK once it matches the shards.
  write_file_atomic(d + "/model.safetensors.index.json",
                    R"({"weight_map": {"a": "s1.safetensors", "c": "s2.safetensors"}})");
  Checkpoint c = Checkpoint::open_dir(d);
  EXPECT_EQ(c.load_f32("c", {2}), (std::vector<float>{1, 2}));
  EXPECT_EQ(*c.get("c").file, d + "/s2.safetensors");
}

TEST(SafetensorsCorrupt, FileMissingOrShort) {
  const std::string d = tmpdir("short");
  expect_error([&] { SafetensorsFile f(d + "/none.safetensors"); },
               {d + "/none.safetensors", "cannot open"});
  expect_error([&] { SafetensorsFile f(d); }, {d, "not a readable regular file"});
  std::ofstream(d + "/s.safetensors", std::ios::binary) << "abc";
  expect_error([&] { SafetensorsFile f(d + "/s.safetensors"); },
               {d + "/s.safetensors", "3 bytes, shorter than"});
}

TEST(SafetensorsCorrupt, HeaderLengthOutOfBounds) {
  const std::string d = tmpdir("len");
  write_raw(d + "/a.safetensors", "{}", 0, 3);  // claims 3 header bytes, file has 2
  expect_error([&] { SafetensorsFile f(d + "/a.safetensors"); },
               {d + "/a.safetensors", "header length 3 is out of bounds"});
  write_raw(d + "/b.safetensors", "{}", 0, std::numeric_limits<int64_t>::max());
  expect_error([&] { SafetensorsFile f(d + "/b.safetensors"); }, {"out of bounds"});
  // Absurd but inside the file: a sparse 120 MB file claiming a 110 MB header.
  const std::string p = d + "/big.safetensors";
  write_raw(p, "{}", 0, 110ll << 20);
  fs::resize_file(p, 120ull << 20);
  expect_error([&] { SafetensorsFile f(p); }, {p, "out of bounds"});
}

TEST(SafetensorsCorrupt, HeaderNotJsonObject) {
  expect_bad_header("{\"a\": ", 0, {"header is not valid JSON"});
  expect_bad_header("[1, 2]", 0, {"not a JSON object"});
  expect_bad_header("{\"__metadata__\": {\"k\": 1}}", 0, {"__metadata__", "not a string"});
}

TEST(SafetensorsCorrupt, EntryMalformed) {
  expect_bad_header(R"({"w": 5})", 0, {"tensor w", "not an object"});
  expect_bad_header(R"({"w": {"shape": [1], "data_offsets": [0, 4]}})", 4, {"tensor w", "dtype"});
  expect_bad_header(R"({"w": {"dtype": "F32", "data_offsets": [0, 4]}})", 4, {"tensor w", "shape"});
  expect_bad_header(R"({"w": {"dtype": "F32", "shape": [1]}})", 4, {"tensor w", "data_offsets"});
  expect_bad_header(R"({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}})", 4,
                    {"tensor w", "negative"});
  expect_bad_header(R"({"w": {"dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]}})", 4,
                    {"tensor w", "non-integer"});
  expect_bad_header(R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4.0]}})", 4,
                    {"tensor w", "data_offsets"});
  expect_bad_header(R"({"w\n": {"dtype": 3, "shape": [1], "data_offsets": [0, 4]}})", 4,
                    {"tensor w?", "dtype"});
}

TEST(SafetensorsCorrupt, UnsupportedDtype) {
  expect_bad_header(R"({"w": {"dtype": "I8", "shape": [4], "data_offsets": [0, 4]}})", 4,
                    {"tensor w", "dtype I8 is unsupported"});
  expect_bad_header(R"({"w": {"dtype": "F64", "shape": [1], "data_offsets": [0, 8]}})", 8,
                    {"tensor w", "dtype F64 is unsupported"});
}

TEST(SafetensorsCorrupt, SizeMismatchAndOverflow) {
  expect_bad_header(R"({"w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 20]}})", 24,
                    {"tensor w", "[2, 3]", "needs 24 bytes", "span 20"});
  expect_bad_header(
      R"({"w": {"dtype": "F32", "shape": [4611686018427387904, 4611686018427387904], "data_offsets": [0, 4]}})",
      4, {"tensor w", "overflows"});
  expect_bad_header(
      R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 18446744073709551615]}})", 4,
      {"tensor w"});
}

TEST(SafetensorsCorrupt, RangeOutsideFileOrReversed) {
  expect_bad_header(R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})", 8,
                    {"tensor w", "outside the 8-byte data section"});
  expect_bad_header(R"({"w": {"dtype": "F32", "shape": [0], "data_offsets": [8, 4]}})", 8,
                    {"tensor w", "begin 8 > end 4"});
}

TEST(SafetensorsCorrupt, OverlappingRanges) {
  expect_bad_header(
      R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F16", "shape": [2], "data_offsets": [6, 10]}})",
      12, {"tensor b overlaps tensor a"});
  // Touching ranges and empty tensors are fine.
  const std::string p = tmpdir("ok") + "/ok.safetensors";
  write_raw(
      p,
      R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F16", "shape": [0], "data_offsets": [4, 4]}, "c": {"dtype": "F16", "shape": [2], "data_offsets": [8, 12]}})",
      12);
  EXPECT_EQ(SafetensorsFile(p).tensors().size(), 3u);
}

TEST(SafetensorsCorrupt, TruncatedGoldenNeverCrashes) {
  SKIP_WITHOUT_SHARED();
  // Every prefix length class of a real file must give an error, never a crash.
  const std::string src = read_file(golden("llama-tiny/model.safetensors"));
  const std::string p = tmpdir("trunc") + "/t.safetensors";
  for (size_t cut :
       {size_t(0), size_t(7), size_t(8), size_t(100), src.size() / 2, src.size() - 1}) {
    std::ofstream(p, std::ios::binary | std::ios::trunc) << src.substr(0, cut);
    expect_error([&] { SafetensorsFile f(p); }, {p});
  }
}

TEST(AtomicFile, CommitReplacesAndLeavesNoTemp) {
  const std::string d = tmpdir("atomic");
  const std::string p = d + "/out.txt";
  write_file_atomic(p, "old");
  // A writer that throws halfway leaves the old file and no temp file behind.
  try {
    AtomicFile f(p);
    f.write("new partial");
    EXPECT_TRUE(fs::exists(p + ".tmp." + std::to_string(getpid())));
    fail("simulated failure");
  } catch (const Error&) {
  }
  EXPECT_EQ(read_file(p), "old");
  write_file_atomic(p, "new");
  EXPECT_EQ(read_file(p), "new");
  size_t entries = 0;
  for (const auto& e : fs::directory_iterator(d)) entries += (void(e), 1);
  EXPECT_EQ(entries, 1u);
  expect_error([&] { read_file(d + "/absent"); }, {d + "/absent", "cannot read"});
  expect_error([&] { read_file(d); }, {d, "cannot read"});
  expect_error([&] { write_file_atomic(d + "/no/such/dir/x", "x"); }, {d + "/no/such/dir/x"});
}

// What a killed writer leaves (NAME.tmp.PID, a file or a directory publish_dir was filling)
// goes; a live writer's temp, and names that only look alike, stay.
TEST(AtomicFile, StaleTempsOfDeadWritersAreRemovedLiveOnesKept) {
  const std::string d = tmpdir("stale");
  const pid_t dead = fork();
  if (dead == 0) _exit(0);
  ASSERT_GT(dead, 0);
  ASSERT_EQ(waitpid(dead, nullptr, 0), dead);  // reaped: its pid names no process now
  const std::string gone = ".tmp." + std::to_string(dead),
                    live = ".tmp." + std::to_string(getpid());
  for (const std::string& f :
       {"a.json" + gone, "b.json" + live, std::string("c.tmp.x"), std::string("d.json")})
    write_file_atomic(d + "/" + f, "x");
  fs::create_directories(d + "/final" + gone + "/sub");
  remove_stale_temps(d);
  std::set<std::string> left;
  for (const auto& e : fs::directory_iterator(d)) left.insert(e.path().filename().string());
  EXPECT_EQ(left, (std::set<std::string>{"b.json" + live, "c.tmp.x", "d.json"}));
}

TEST(Json, ErrorsNameTheSource) {
  const std::string d = tmpdir("json");
  write_file_atomic(d + "/bad.json", "{\"a\": [1,\n 2,,]}");
  expect_error([&] { read_json_file(d + "/bad.json"); }, {d + "/bad.json", "not valid JSON"});
  expect_error([&] { read_json_file(d + "/none.json"); }, {d + "/none.json", "cannot read"});
  expect_error([&] { parse_json("{\n", "data.jsonl:17"); }, {"data.jsonl:17: not valid JSON"});
  const Json j = parse_json(R"({"z": 1, "a": 2})", "x");
  EXPECT_EQ(j.dump(), R"({"z":1,"a":2})");  // key order kept
}

}  // namespace
}  // namespace lr
