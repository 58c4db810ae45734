#pragma once
// Training speed of one micro-batch shape, measured by a child `layerroute bench-train`:
// peak RSS is per process and only grows, so each shape gets its own process, free of the
// inference model of the `bench` run that asks.
#include <string>

#include "io/json.h"

namespace lr::eval {

struct TrainShape {
  int rows = 0, seq = 0;
  std::string key() const { return std::to_string(rows) + "x" + std::to_string(seq); }
};
// The micro-batch shapes `bench` measures.
inline constexpr TrainShape kBenchTrainShapes[2] = {{1, 512}, {4, 128}};

// Runs `exe bench-train --model DIR --rows R --seq S --steps N --threads T` and returns the
// JSON it prints (train/train_bench.h's figures). Throws naming the shape and the child's
// exit status when it fails; its stderr is ours, so its own error shows above.
Json bench_training_child(const std::string& exe, const std::string& model_dir, TrainShape shape,
                          int steps, int threads);

}  // namespace lr::eval
