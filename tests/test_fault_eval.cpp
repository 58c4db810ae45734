// `layerroute eval --out` killed for real, starved of disk and refused a read-only --out, on
// a tiny model: a killed evaluation leaves no torn report (each is written whole or not at
// all, over an earlier evaluation's or into an empty directory) and a re-run completes the
// set; a full disk or a read-only directory gives a one-line error, exit 1, and the earlier
// reports intact.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <random>

#include "fault_child.h"
#include "fault_files.h"

namespace lr::faulttest {
namespace {

// Adapters (LoRA with nonzero B, routers that close block 1), once per test process.
const std::string& adapters() {
  static const std::string dir = [] {
    const std::string d = tiny_setup().root + "/adapters";
    const ModelConfig c = evaltest::tiny_cfg(2, 2048);
    LoraWeights lora = LoraWeights::init(c, LoraConfig{}, 21);
    for (LoraAdapter& a : lora.adapters) evaltest::randomize(a.B, 22, 0.05f);
    RouterWeights rt = RouterWeights::zeros(c);
    rt.b = {1.f, -1.f};
    evaltest::write_adapter_dir(d, c, &lora, &rt);
    return d;
  }();
  return dir;
}

// Wall clock left out: every report is then a function of the inputs, byte for byte.
ChildSpec eval(const std::string& out) {
  const TinySetup& t = tiny_setup();
  ChildSpec c;
  c.args = {"eval",
            "--model",
            t.model,
            "--adapters",
            adapters(),
            "--data",
            "hermes:" + t.tool,
            "--data",
            "gsm8k:" + t.plan,
            "--out",
            out,
            "--max-seq-len",
            "48",
            "--batch-size",
            "2",
            "--threads",
            "1",
            "--no-wallclock",
            "--random-draws",
            "2"};
  return c;
}

const Snapshot& reference() {
  static const Snapshot s = [] {
    const std::string d = tiny_setup().root + "/eval_ref";
    const ChildEnd e = run_child(eval(d), d);
    EXPECT_EQ(e.exit_code, 0) << e.err;
    return snapshot(d);
  }();
  return s;
}

void copy_reference(const std::string& to) {
  fs::remove_all(to);
  fs::copy(tiny_setup().root + "/eval_ref", to, fs::copy_options::recursive);
}

TEST(FaultEval, KilledEvalLeavesNoTornReportAndARerunCompletesThem) {
  if (!test::shared_present()) GTEST_SKIP() << "shared/ not present beside the repository";
  const Snapshot& ref = reference();
  ASSERT_GT(ref.size(), 5u);
  // A second evaluation writes the same bytes: the comparisons below can be exact.
  const std::string twice = tiny_setup().root + "/eval_twice";
  ASSERT_EQ(run_child(eval(twice), twice).exit_code, 0);
  ASSERT_EQ(snapshot_diff(ref, snapshot(twice)), "");

  std::mt19937_64 rng(1717);
  for (int i = 0; i < 4; ++i) {
    // Into an empty directory, then over an earlier evaluation's reports.
    const std::string out = tiny_setup().root + "/eval" + std::to_string(i);
    if (i % 2) copy_reference(out);
    const int n = std::uniform_int_distribution<int>(1, int(ref.size()))(rng);
    const std::string what =
        "kill in report " + std::to_string(n) + (i % 2 ? " over" : " into empty");
    ChildSpec spec = eval(out);
    spec.env = {"LR_FAULT_KILL_WRITE=" + out + "/:" + std::to_string(n)};
    const ChildEnd k = run_child(spec, out);
    ASSERT_TRUE(k.killed()) << what << ": " << k.err;
    EXPECT_EQ(torn_files(out, After::Kill), std::vector<std::string>{}) << what;
    // Whole files only: each report present is the old one or the new one, never a mix.
    for (const auto& [name, bytes] : snapshot(out)) {
      const auto it = ref.find(name);
      EXPECT_TRUE(it != ref.end() && it->second == bytes) << what << ": " << name;
    }

    const ChildEnd again = run_child(eval(out), out + "_again");
    ASSERT_EQ(again.exit_code, 0) << what << ": " << again.err;
    EXPECT_EQ(snapshot_diff(ref, snapshot(out)), "") << what;
    EXPECT_EQ(torn_files(out, After::Settled), std::vector<std::string>{}) << what;
  }
}

TEST(FaultEval, FullDiskAndReadOnlyOutLeaveTheEarlierReportsIntact) {
  if (!test::shared_present()) GTEST_SKIP() << "shared/ not present beside the repository";
  const Snapshot& ref = reference();
  size_t largest = 0;
  for (const auto& [name, bytes] : ref) largest = std::max(largest, bytes.size());
  const std::string out = tiny_setup().root + "/eval_refused";
  copy_reference(out);

  ChildSpec full = eval(out);
  full.fsize_limit = (long long)(largest / 2);  // the largest report cannot be written
  const ChildEnd f = run_child(full, out + "_full");
  expect_one_line_error(f, {out + "/", "File too large"});
  EXPECT_EQ(snapshot_diff(ref, snapshot(out)), "");
  EXPECT_EQ(torn_files(out, After::Settled), std::vector<std::string>{});

  // Read-only (as root, run as nobody so the mode bits apply).
  ASSERT_EQ(::chmod(out.c_str(), 0555), 0);
  ChildSpec ro = eval(out);
  ro.as_nobody = true;
  const ChildEnd r = run_child(ro, out + "_ro");
  ::chmod(out.c_str(), 0755);
  expect_one_line_error(r, {out + "/eval.json: cannot create ", "Permission denied"});
  EXPECT_EQ(snapshot_diff(ref, snapshot(out)), "");
  EXPECT_EQ(torn_files(out, After::Settled), std::vector<std::string>{});
}

}  // namespace
}  // namespace lr::faulttest
