#include "eval/bench_train_child.h"

#include "core/child_process.h"
#include "core/error.h"

namespace lr::eval {

Json bench_training_child(const std::string& exe, const std::string& model_dir, TrainShape shape,
                          int steps, int threads) {
  const ChildResult r =
      run_child({exe, "bench-train", "--model", model_dir, "--rows", std::to_string(shape.rows),
                 "--seq", std::to_string(shape.seq), "--steps", std::to_string(steps), "--threads",
                 std::to_string(threads)},
                {ChildStream::Capture, ChildStream::Inherit});
  LR_CHECK(r.ok(), "bench: training benchmark ", shape.key(), " failed (", r.status(), ")");
  try {
    return Json::parse(r.out);
  } catch (const std::exception& e) {
    fail("bench: training benchmark ", shape.key(), " printed no JSON: ", e.what());
  }
}

}  // namespace lr::eval
