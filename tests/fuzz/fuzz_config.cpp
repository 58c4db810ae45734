// libFuzzer target: config.json, then (after kSep) generation_config.json, of one model
// directory. A config that loads must round-trip through to_json unchanged.
#include <cstdlib>

#include "core/error.h"
#include "fuzz_util.h"
#include "model/config.h"
#include "model/generation_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto& s = lr::fuzz::scratch();
  const auto parts = lr::fuzz::split_parts(lr::fuzz::as_view(data, size), 2);
  s.write("config.json", parts[0]);
  // An absent generation_config.json is valid (defaults); an empty second part means that.
  if (parts[1].empty())
    s.remove("generation_config.json");
  else
    s.write("generation_config.json", parts[1]);
  try {
    const lr::ModelConfig c = lr::ModelConfig::load(s.dir());
    const lr::Json j = c.to_json();
    if (lr::ModelConfig::from_json(j, "round trip").to_json() != j) std::abort();
  } catch (const lr::Error&) {
  }
  try {
    (void)lr::GenerationConfig::load(s.dir());
  } catch (const lr::Error&) {
  }
  return 0;
}
