// libFuzzer target: a .npy file read as float32; what opens holds exactly its shape's values.
#include <cstdlib>

#include "core/error.h"
#include "fuzz_util.h"
#include "io/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = lr::fuzz::scratch().write("a.npy", lr::fuzz::as_view(data, size));
  try {
    const lr::NpyArray a = lr::read_npy_f32(path);
    size_t n = 1;
    for (int64_t d : a.shape) n *= size_t(d);
    if (n != a.data.size()) std::abort();
  } catch (const lr::Error&) {
  }
  return 0;
}
