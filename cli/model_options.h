#pragma once
// Options shared by the commands that run the model.
#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "model/linear.h"

namespace lr::cli {

struct ModelOptions {
  std::string model;
  int threads = 0;
  std::string weights_dtype = "f32";
};

void add_model_options(CLI::App* sub, ModelOptions* o);
WeightsDType parse_weights_dtype(const std::string& s);
// "1,2,3" -> ids; throws naming the bad element.
std::vector<int> parse_ids(const std::string& s);

}  // namespace lr::cli
