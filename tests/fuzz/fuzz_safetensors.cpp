// libFuzzer target: a whole .safetensors file (header length, JSON header, tensor table,
// data). Every tensor that opens must be readable end to end as float32.
#include "core/error.h"
#include "fuzz_util.h"
#include "io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path =
      lr::fuzz::scratch().write("model.safetensors", lr::fuzz::as_view(data, size));
  try {
    const lr::Checkpoint ck = lr::Checkpoint::open_file(path);
    for (const std::string& name : ck.names()) {
      const lr::TensorRef r = ck.get(name);
      if (r.info->numel() <= (1u << 20)) (void)ck.load_f32(name, r.info->shape);
    }
  } catch (const lr::Error&) {
  }
  return 0;
}
