#include "train/trainer_state.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/safetensors.h"

namespace lr {

namespace fs = std::filesystem;

Json TrainerState::to_json() const {
  Json j;
  j["format_version"] = 1;
  j["step"] = step;
  j["micro_step"] = micro_step;
  j["epoch"] = epoch;
  j["pos"] = pos;
  j["seed"] = seed;
  // JSON has no infinity: no validation yet is null.
  j["best_val_loss"] = std::isfinite(best_val) ? Json(best_val) : Json(nullptr);
  j["best_step"] = best_step;
  j["train_seconds"] = train_s;
  j["tokens"] = tokens;
  j["lr_schedule"] = lr_schedule;
  j["config"] = config;
  return j;
}

TrainerState TrainerState::from_json(const Json& j, const std::string& where) {
  TrainerState s;
  try {
    LR_CHECK(j.value("format_version", 0) == 1, where, ": unsupported format_version");
    s.step = j.at("step").get<int64_t>();
    s.micro_step = j.at("micro_step").get<int64_t>();
    s.epoch = j.at("epoch").get<int64_t>();
    s.pos = j.at("pos").get<uint64_t>();
    s.seed = j.at("seed").get<uint64_t>();
    const Json& bv = j.at("best_val_loss");
    s.best_val = bv.is_null() ? std::numeric_limits<double>::infinity() : bv.get<double>();
    s.best_step = j.at("best_step").get<int64_t>();
    s.train_s = j.at("train_seconds").get<double>();
    s.tokens = j.at("tokens").get<uint64_t>();
    s.lr_schedule = j.value("lr_schedule", Json());
    s.config = j.at("config");
  } catch (const Json::exception& e) {
    fail(where, ": ", e.what());
  }
  return s;
}

bool has_trainer_state(const std::string& dir) {
  return fs::exists(dir + "/trainer_state.json") && fs::exists(dir + "/trainer_state.safetensors");
}

void save_trainer_state(const std::string& dir, const TrainerState& st,
                        const std::vector<Param>& params, AdamW& opt) {
  std::vector<TensorToWrite> t;
  for (size_t i = 0; i < params.size(); ++i) {
    t.push_back(
        {"exp_avg." + params[i].name, DType::F32, params[i].shape, opt.exp_avg()[i].data()});
    t.push_back(
        {"exp_avg_sq." + params[i].name, DType::F32, params[i].shape, opt.exp_avg_sq()[i].data()});
  }
  write_safetensors(dir + "/trainer_state.safetensors", t,
                    {{"optimizer", "adamw"}, {"step", std::to_string(opt.steps())}});
  Json j = st.to_json();
  j["optimizer_steps"] = opt.steps();
  write_file_atomic(dir + "/trainer_state.json", j.dump(2) + "\n");
}

TrainerState load_trainer_state(const std::string& dir, const std::vector<Param>& params,
                                AdamW& opt) {
  const std::string jpath = dir + "/trainer_state.json";
  const Json j = read_json_file(jpath);
  TrainerState st = TrainerState::from_json(j, jpath);
  const std::string tpath = dir + "/trainer_state.safetensors";
  const Checkpoint ck = Checkpoint::open_file(tpath);
  LR_CHECK(ck.names().size() == 2 * params.size(), tpath, ": holds ", ck.names().size(),
           " moment tensors, this run trains ", params.size(), " tensors (x2)");
  for (size_t i = 0; i < params.size(); ++i) {
    opt.exp_avg()[i] = ck.load_f32("exp_avg." + params[i].name, params[i].shape);
    opt.exp_avg_sq()[i] = ck.load_f32("exp_avg_sq." + params[i].name, params[i].shape);
  }
  opt.set_steps(j.value("optimizer_steps", st.step));
  return st;
}

namespace {
void fsync_dir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    (void)::fsync(fd);
    ::close(fd);
  }
}
}  // namespace

void publish_dir(const std::string& dir, const std::function<void(const std::string&)>& fill) {
  const std::string tmp = dir + ".tmp." + std::to_string(::getpid());
  std::error_code ec;
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp);
  try {
    fill(tmp);
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
  fsync_dir(tmp);
  if (fs::exists(dir)) {
    // Swap in one step: a kill at any moment leaves either the old or the new directory.
    if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, dir.c_str(), RENAME_EXCHANGE) != 0)
      fail(dir, ": cannot replace with ", tmp, ": ", std::strerror(errno));
    fs::remove_all(tmp, ec);  // now the old copy
  } else if (std::rename(tmp.c_str(), dir.c_str()) != 0) {
    fail(dir, ": cannot rename ", tmp, " into place: ", std::strerror(errno));
  }
  fsync_dir(fs::path(dir).parent_path().string());
}

}  // namespace lr
