// Writes the seed inputs that are easier to make with the library's own writers than to
// cut from fixtures: small safetensors, .npy, adapter directories (joined with kSep) and
// config pairs. Usage: lr_fuzz_seeds OUT_DIR (creates OUT_DIR/<target>/...).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "fuzz_util.h"
#include "io/npy.h"
#include "io/safetensors.h"
#include "layerroute/adapters.h"

namespace fs = std::filesystem;

namespace {

std::string slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void put(const std::string& dir, const std::string& name, const std::string& bytes) {
  fs::create_directories(dir);
  std::ofstream(dir + "/" + name, std::ios::binary).write(bytes.data(), bytes.size());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: lr_fuzz_seeds OUT_DIR\n");
    return 2;
  }
  const std::string out = argv[1];
  const std::string tmp = out + "/.tmp";
  fs::create_directories(tmp);
  try {
    // safetensors: each dtype, metadata, an empty tensor, a scalar.
    const float f[6] = {1, -2, 3.5f, 0, 1e-3f, 7};
    const uint16_t h[4] = {0x3f80, 0xc000, 0x3c00, 0};
    lr::write_safetensors(tmp + "/a.st",
                          {{"w", lr::DType::F32, {2, 3}, f},
                           {"b", lr::DType::BF16, {2}, h},
                           {"e", lr::DType::F32, {0, 4}, f},
                           {"s", lr::DType::F32, {}, f}},
                          {{"format", "pt"}});
    lr::write_safetensors(tmp + "/b.st", {{"x.weight", lr::DType::F16, {2, 2}, h}});
    put(out + "/fuzz_safetensors", "a.safetensors", slurp(tmp + "/a.st"));
    put(out + "/fuzz_safetensors", "b.safetensors", slurp(tmp + "/b.st"));

    lr::write_npy_f32(tmp + "/a.npy", f, {2, 3});
    lr::write_npy_f32(tmp + "/b.npy", f, {6});
    lr::write_npy_f32(tmp + "/c.npy", f, {});
    for (const char* n : {"a.npy", "b.npy", "c.npy"})
      put(out + "/fuzz_npy", n, slurp(tmp + "/" + n));

    // Adapter directories for the 2-block model fuzz_adapters loads against.
    lr::ModelConfig c;
    c.model_type = "qwen2";
    c.hidden = 8;
    c.n_layers = 2;
    c.n_heads = 2;
    c.n_kv_heads = 1;
    c.head_dim = 4;
    c.intermediate = 16;
    c.vocab = 32;
    c.max_position = 64;
    c.qkv_bias = true;
    lr::LoraConfig lc;
    lc.rank = 2;
    const lr::LoraWeights lora = lr::LoraWeights::init(c, lc, 1);
    const lr::RouterWeights router = lr::RouterWeights::init(c);
    const std::string names[4] = {"adapter_config.json", "adapter_model.safetensors",
                                  "router.safetensors", "layerroute_config.json"};
    const std::string sep(lr::fuzz::kSep);
    int k = 0;
    for (int mode = 0; mode < 3; ++mode) {
      const std::string d = tmp + "/ad" + std::to_string(mode);
      lr::save_adapters(d, mode != 2 ? &lora : nullptr, mode != 1 ? &router : nullptr);
      std::string joined;
      for (int i = 0; i < 4; ++i) {
        if (i) joined += sep;
        if (fs::exists(d + "/" + names[i])) joined += slurp(d + "/" + names[i]);
      }
      put(out + "/fuzz_adapters", "dir" + std::to_string(k++), joined);
    }
  } catch (const lr::Error& e) {
    std::fprintf(stderr, "lr_fuzz_seeds: %s\n", e.what());
    return 1;
  }
  fs::remove_all(tmp);
  return 0;
}
