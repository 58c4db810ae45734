// The demo's cache killed for real: `layerroute demo --quick --model TINY` (the real pipeline
// and its step markers, on a tiny model instead of the ~4-minute small-model build) is
// SIGKILLed in a random (seeded) one of the files it writes. The next run rebuilds the steps
// whose marker is missing, reuses the finished ones untouched, leaves nothing torn, and ends
// with the adapters an uninterrupted demo trains.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <iostream>
#include <random>

#include "fault_child.h"
#include "fault_files.h"

namespace lr::faulttest {
namespace {

ChildSpec demo(const std::string& work) {
  ChildSpec c;
  c.args = {"demo", "--quick", "--model", tiny_setup().model, "--work", work, "--threads", "1"};
  return c;
}

// Each step's directory and the marker that says it finished.
const std::vector<std::string> kSteps = {"data", "adapters-run", "eval"};

// Inode and modification time of every file under `dir`: a rebuilt file gets a new inode
// (atomic writes rename a new file into place), a reused one keeps both.
std::map<std::string, std::pair<ino_t, int64_t>> identities(const std::string& dir) {
  std::map<std::string, std::pair<ino_t, int64_t>> m;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    struct stat st {};
    if (e.is_regular_file() && ::stat(e.path().c_str(), &st) == 0)
      m[e.path().string()] = {st.st_ino,
                              int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
  }
  return m;
}

// The adapters a demo trained, its work directory's name (in the recorded data paths) and
// the training's wall time left out.
Snapshot trained_adapters(const std::string& work) {
  Snapshot s = snapshot(work + "/adapters-run/final");
  for (auto& [name, bytes] : s)
    for (size_t at; (at = bytes.find(work)) != std::string::npos;)
      bytes.replace(at, work.size(), "WORK");
  if (s.count("trainer_state.json")) {
    Json j = parse_json(s["trainer_state.json"], work);
    j.erase("train_seconds");
    s["trainer_state.json"] = j.dump();
  }
  return s;
}

TEST(FaultDemo, KilledDemoRebuildsWhatItMustAndNothingElse) {
  if (!test::shared_present()) GTEST_SKIP() << "shared/ not present beside the repository";
  const std::string root = tiny_setup().root;
  const std::string ref = root + "/demo_ref";
  const ChildEnd r = run_child(demo(ref), root + "/demo_ref");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Every file is written once at least, so the n-th write exists for n up to this count.
  const int files = int(snapshot(ref).size());
  ASSERT_GT(files, 10);

  std::mt19937_64 rng(515);
  for (int i = 0; i < 3; ++i) {
    // One kill in each third of the writes: early (traces), middle, late (evaluation).
    const int n = std::uniform_int_distribution<int>(1 + i * files / 3, (i + 1) * files / 3)(rng);
    const std::string work = root + "/demo" + std::to_string(i),
                      what = "write " + std::to_string(n);
    ChildSpec spec = demo(work);
    spec.env = {"LR_FAULT_KILL_WRITE=" + work + "/:" + std::to_string(n)};
    const ChildEnd k = run_child(spec, work);
    ASSERT_TRUE(k.killed()) << what << ": " << k.err;
    EXPECT_EQ(torn_files(work, After::Kill), std::vector<std::string>{}) << what;

    std::map<std::string, bool> finished;
    std::map<std::string, std::pair<ino_t, int64_t>> kept;
    for (const std::string& s : kSteps) {
      finished[s] = fs::exists(work + "/" + s + "/.done");
      if (finished[s])
        for (const auto& [p, id] : identities(work + "/" + s)) kept[p] = id;
    }
    const ChildEnd again = run_child(demo(work), work + "_again");
    ASSERT_EQ(again.exit_code, 0) << what << ": " << again.err;
    for (const std::string& s : kSteps) EXPECT_TRUE(fs::exists(work + "/" + s + "/.done")) << s;
    // Finished steps are reused as they are (same files, untouched) ...
    const auto now = identities(work);
    for (const auto& [p, id] : kept) {
      const auto it = now.find(p);
      EXPECT_TRUE(it != now.end() && it->second == id) << what << ": " << p << " was rebuilt";
    }
    EXPECT_EQ(again.out.find("cached: " + work + "/adapters-run/final") != std::string::npos,
              finished["adapters-run"])
        << what << "\n"
        << again.out;
    // ... the others rebuilt, to the same adapters an uninterrupted demo trains.
    EXPECT_EQ(snapshot_diff(trained_adapters(ref), trained_adapters(work)), "") << what;
    EXPECT_EQ(torn_files(work, After::Settled), std::vector<std::string>{}) << what;
    std::cout << "kill in " << what << " of " << files
              << "; steps finished before it:" << (finished["data"] ? " data" : "")
              << (finished["adapters-run"] ? " adapters" : "") << (finished["eval"] ? " eval" : "")
              << "\n";
  }
}

}  // namespace
}  // namespace lr::faulttest
