#pragma once
// Named model shapes for `init-random` and benchmarks (the only place these numbers live
// outside tests; real models always read config.json).
#include <string>
#include <vector>

#include "model/config.h"

namespace lr {

// Throws lr::Error listing the known names.
ModelConfig preset_config(const std::string& name);
std::vector<std::string> preset_names();

}  // namespace lr
