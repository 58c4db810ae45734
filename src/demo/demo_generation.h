#pragma once
// Step 5 of the demo: greedy generation for a tool-call and a planning prompt with the
// trained adapters, routed and with every block open, with measured speed.
#include <string>

namespace lr {

// Takes the first tool-call and the first planning conversation of the eval files, cuts
// each before its first assistant turn, generates, and prints both runs side by side.
void demo_generation(const std::string& model_dir, const std::string& adapters_dir,
                     const std::string& tool_file, const std::string& planning_file, int max_new);

}  // namespace lr
