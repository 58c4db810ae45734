// Training killed for real: SIGKILL at random (seeded) points of `layerroute train` on a
// tiny model (in a step, in a checkpoint write, in the final adapter write), then --resume.
// Every resumed run ends with adapters byte-identical to an uninterrupted run's, and no
// directory keeps a torn file. A full disk (RLIMIT_FSIZE) and a read-only --out: one-line
// error, exit 1, the previous outputs intact.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <iostream>
#include <random>
#include <thread>

#include "fault_child.h"
#include "fault_files.h"

namespace lr::faulttest {
namespace {

constexpr int kSteps = 8;
// Per checkpoint (and in final/): adapter_config.json, adapter_model.safetensors,
// router.safetensors, layerroute_config.json, trainer_state.safetensors, .json.
constexpr int kFilesPerSave = 6;

// 16 samples (12 train, 4 validation), 2 per step: 8 steps cross an epoch; a checkpoint
// after every step but the last; validation every 3 steps (so best/ is rewritten too).
ChildSpec train(const std::string& out, std::vector<std::string> extra = {}) {
  const TinySetup& t = tiny_setup();
  ChildSpec c;
  c.args = {"train",
            "--model",
            t.model,
            "--data",
            "hermes:" + t.tool,
            "--data",
            "gsm8k:" + t.plan,
            "--out",
            out,
            "--max-steps",
            std::to_string(kSteps),
            "--batch-size",
            "2",
            "--grad-accum",
            "1",
            "--max-seq-len",
            "48",
            "--eval-every",
            "3",
            "--eval-batches",
            "1",
            "--save-every",
            "1",
            "--threads",
            "1",
            "--lr",
            "1e-2",
            "--warmup-steps",
            "1",
            "--val-fraction",
            "0.25",
            "--lora-rank",
            "4"};
  c.args.insert(c.args.end(), extra.begin(), extra.end());
  return c;
}

std::string log_stem(const std::string& name) {
  return tiny_setup().root + "/" + name;
}

// A directory's files, trainer_state.json without its wall time (train_seconds).
Snapshot adapters_of(const std::string& dir) {
  Snapshot s = snapshot(dir);
  if (s.count("trainer_state.json")) {
    Json j = parse_json(s["trainer_state.json"], dir);
    j.erase("train_seconds");
    s["trainer_state.json"] = j.dump();
  }
  return s;
}

// A log's rows without the last column when it is wall time (training_log.csv).
std::vector<std::string> rows_of(const std::string& path, bool drop_time) {
  std::vector<std::string> rows;
  std::istringstream in(test::slurp(path));
  for (std::string l; std::getline(in, l);)
    rows.push_back(drop_time ? l.substr(0, l.rfind(',')) : l);
  return rows;
}

// Everything a finished run leaves that must not depend on the run being interrupted.
void expect_same_run(const std::string& ref, const std::string& out, const std::string& what) {
  for (const char* d : {"final", "best"}) {
    const Snapshot a = adapters_of(ref + "/" + d), b = adapters_of(out + "/" + d);
    EXPECT_FALSE(a.empty()) << ref << "/" << d;
    EXPECT_EQ(snapshot_diff(a, b), "")
        << what << ": " << d << "/ differs from the uninterrupted run";
  }
  EXPECT_EQ(rows_of(ref + "/training_log.csv", true), rows_of(out + "/training_log.csv", true))
      << what;
  for (const char* f : {"eval_log.csv", "gate_log.csv"})
    EXPECT_EQ(rows_of(ref + "/" + f, false), rows_of(out + "/" + f, false)) << what << ": " << f;
  EXPECT_NO_THROW((void)read_json_file(out + "/run_summary.json")) << what;
}

// Rows training_log.csv holds (header excluded) at this moment.
int logged_steps(const std::string& out) {
  const std::string t = test::slurp(out + "/training_log.csv");
  return t.empty() ? 0 : int(std::count(t.begin(), t.end(), '\n')) - 1;
}

const std::string& reference_run() {
  static const std::string ref = [] {
    const std::string d = tiny_setup().root + "/reference";
    const ChildEnd e = run_child(train(d), log_stem("reference"));
    EXPECT_EQ(e.exit_code, 0) << e.err;
    return d;
  }();
  return ref;
}

TEST(FaultTrain, KilledAtRandomPointsResumesToIdenticalAdapters) {
  if (!test::shared_present()) GTEST_SKIP() << "shared/ not present beside the repository";
  const std::string ref = reference_run();
  std::mt19937_64 rng(20261205);  // the kill points: random, and the same on every run
  const auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  int landed = 0;
  for (int i = 0; i < 10; ++i) {
    const std::string out = tiny_setup().root + "/killed" + std::to_string(i);
    ChildSpec spec = train(out);
    std::string what;
    int after_rows = -1, delay_us = 0;
    if (i < 4) {  // in a step: after a random number of logged steps, plus up to 3 ms
      after_rows = pick(1, kSteps - 2);
      delay_us = pick(0, 3000);
      what = "kill " + std::to_string(i) + " after step " + std::to_string(after_rows) + " + " +
             std::to_string(delay_us) + " us";
    } else if (i < 7) {  // in the n-th file written into a checkpoint (steps 1 to 7)
      const int n = pick(1, (kSteps - 1) * kFilesPerSave);
      spec.env = {"LR_FAULT_KILL_WRITE=checkpoint.tmp.:" + std::to_string(n)};
      what = "kill " + std::to_string(i) + " in checkpoint write " + std::to_string(n);
    } else {  // in the n-th file of final/
      const int n = pick(1, kFilesPerSave);
      spec.env = {"LR_FAULT_KILL_WRITE=final.tmp.:" + std::to_string(n)};
      what = "kill " + std::to_string(i) + " in final write " + std::to_string(n);
    }
    Child child(spec, log_stem("killed" + std::to_string(i)));
    if (after_rows >= 0) {
      while (!child.done() && logged_steps(out) < after_rows)
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      std::this_thread::sleep_for(std::chrono::microseconds(delay_us));
      child.kill();
    }
    const ChildEnd end = child.wait();
    if (after_rows < 0) {
      EXPECT_TRUE(end.killed()) << what << ": " << end.err;  // the hook always fires
    } else {
      // A run that outpaced its kill finished; it is still resumed and compared below.
      EXPECT_TRUE(end.killed() || end.exit_code == 0) << what << ": " << end.err;
    }
    landed += end.killed();
    // What a kill leaves: temps and a cut log row at most; published files are whole.
    EXPECT_EQ(torn_files(out, After::Kill), std::vector<std::string>{}) << what;

    const ChildEnd resumed = run_child(train(out, {"--resume", out}), log_stem("resumed"));
    ASSERT_EQ(resumed.exit_code, 0) << what << ": " << resumed.err;
    size_t from = resumed.out.find("resuming from");
    if (from == std::string::npos) from = resumed.out.find("no checkpoint");
    ASSERT_NE(from, std::string::npos) << resumed.out;
    std::cout << what << (end.killed() ? "" : " (ended first)") << " -> "
              << resumed.out.substr(from, resumed.out.find('\n', from) - from) << "\n";
    EXPECT_EQ(torn_files(out, After::Settled), std::vector<std::string>{}) << what;
    expect_same_run(ref, out, what);
  }
  RecordProperty("kills_landed", landed);
  std::cout << "kills landed before the run ended: " << landed << " of 10\n";
  EXPECT_GE(landed, 6);  // the six hook kills cannot miss
}

// The refused resumes below start from a run killed in its final write: checkpoint/ at
// step 7, best/, the logs.
std::string killed_before_final(const std::string& name) {
  const std::string out = tiny_setup().root + "/" + name;
  ChildSpec spec = train(out);
  spec.env = {"LR_FAULT_KILL_WRITE=final.tmp.:1"};
  const ChildEnd e = run_child(spec, log_stem(name));
  EXPECT_TRUE(e.killed()) << e.err;
  return out;
}

TEST(FaultTrain, FullDiskAndReadOnlyOutLeaveThePreviousOutputsIntact) {
  if (!test::shared_present()) GTEST_SKIP() << "shared/ not present beside the repository";
  const std::string ref = reference_run();
  const std::string out = killed_before_final("refused");
  const Snapshot before = snapshot(out + "/checkpoint");
  const Snapshot best = snapshot(out + "/best");
  ASSERT_FALSE(before.empty());

  // Disk full: no file may grow past 4 KB, so the adapters (~5.6 KB) cannot be written.
  ChildSpec full = train(out, {"--resume", out});
  full.fsize_limit = 4096;
  const ChildEnd f = run_child(full, log_stem("full"));
  expect_one_line_error(f, {"adapter_model.safetensors", "File too large"});
  EXPECT_EQ(snapshot_diff(before, snapshot(out + "/checkpoint")), "");
  EXPECT_EQ(snapshot_diff(best, snapshot(out + "/best")), "");
  EXPECT_FALSE(fs::exists(out + "/final"));
  EXPECT_EQ(torn_files(out, After::Settled), std::vector<std::string>{});

  // Read-only --out (as root, run as nobody so the mode bits apply): refused before any
  // write, nothing changed.
  const Snapshot all = snapshot(out);
  ASSERT_EQ(::chmod(out.c_str(), 0555), 0);
  ChildSpec ro = train(out, {"--resume", out});
  ro.as_nobody = true;
  const ChildEnd r = run_child(ro, log_stem("readonly"));
  ::chmod(out.c_str(), 0755);
  expect_one_line_error(r, {out + "/training_log.csv: cannot create ", "Permission denied"});
  EXPECT_EQ(snapshot_diff(all, snapshot(out)), "");
  EXPECT_EQ(torn_files(out, After::Settled), std::vector<std::string>{});

  // With room and rights again, the resumed run ends as the uninterrupted one.
  const ChildEnd ok = run_child(train(out, {"--resume", out}), log_stem("after"));
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  expect_same_run(ref, out, "after the refused resumes");
}

}  // namespace
}  // namespace lr::faulttest
