// core/child_process.h: an argv reaches the child as it is (no shell), its output is captured
// or passed on, and a failed or missing child is reported.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "cli_util.h"
#include "core/child_process.h"
#include "core/error.h"
#include "temp_path.h"

namespace lr {
namespace {

using test::temp_path;

const ChildOptions kCaptureBoth{ChildStream::Capture, ChildStream::Capture};

TEST(ChildProcess, ArgvReachesTheChildUnchanged) {
  // Each argument printed on its own line by printf(1): what a shell would split, expand or
  // unquote arrives as written.
  const std::vector<std::string> args = {"a b",    "it's", "\"double\"", "$HOME",  "`id`",  "*",
                                         "x;y|z&", "",     "back\\",     "  lead", "€ utf8"};
  std::vector<std::string> argv = {"/usr/bin/printf", "%s\\n"};
  argv.insert(argv.end(), args.begin(), args.end());
  const ChildResult r = run_child(argv, kCaptureBoth);
  ASSERT_TRUE(r.ok()) << r.status() << " " << r.err;
  std::string want;
  for (const std::string& a : args) want += a + "\n";
  EXPECT_EQ(r.out, want);
  EXPECT_EQ(r.err, "");
}

TEST(ChildProcess, LayerrouteSeesAPathWithQuotesAndDollarAsItIs) {
  // The binary itself, as bench and sweep run it: its error names the path it was given.
  const std::string dir = "/nonexistent/it's \"a\" $HOME dir";
  const ChildResult r =
      run_child({LR_CLI_PATH, "bench-train", "--model", dir, "--steps", "1"}, kCaptureBoth);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.signal, 0);
  EXPECT_NE(r.err.find(dir), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST(ChildProcess, EnvIsSetOverOursInTheChildOnly) {
  ::setenv("LR_CHILD_TEST_A", "ours", 1);
  ::setenv("LR_CHILD_TEST_B", "kept", 1);
  ChildOptions o = kCaptureBoth;
  o.env = {{"LR_CHILD_TEST_A", "theirs"}, {"LR_CHILD_TEST_C", "a b=c"}};
  const ChildResult r = run_child({"/usr/bin/env"}, o);
  ASSERT_TRUE(r.ok()) << r.status() << " " << r.err;
  const std::string env = "\n" + r.out;
  EXPECT_NE(env.find("\nLR_CHILD_TEST_A=theirs\n"), std::string::npos) << r.out;
  EXPECT_EQ(env.find("\nLR_CHILD_TEST_A=ours\n"), std::string::npos) << r.out;
  EXPECT_NE(env.find("\nLR_CHILD_TEST_B=kept\n"), std::string::npos) << r.out;
  EXPECT_NE(env.find("\nLR_CHILD_TEST_C=a b=c\n"), std::string::npos) << r.out;
  EXPECT_STREQ(::getenv("LR_CHILD_TEST_A"), "ours");
  EXPECT_EQ(::getenv("LR_CHILD_TEST_C"), nullptr);
}

// The tests' run_cli splits its argument string itself, without a shell.
TEST(ChildProcess, TestArgumentSplitterQuotesLikeAShellAndRefusesShellSyntax) {
  using test::split_args;
  using V = std::vector<std::string>;
  EXPECT_EQ(split_args("  a  b\tc "), (V{"a", "b", "c"}));
  EXPECT_EQ(split_args("--prompt 'Hi there' --x \"q \\\" r\" ''"),
            (V{"--prompt", "Hi there", "--x", "q \" r", ""}));
  EXPECT_EQ(split_args("--p " + test::shell_quote("it's $HOME * | x")),
            (V{"--p", "it's $HOME * | x"}));
  EXPECT_EQ(split_args("a\\ b"), (V{"a b"}));
  for (const char* bad : {"a > f", "a | b", "$HOME", "a*", "'open", "\"open"})
    EXPECT_THROW(split_args(bad), std::runtime_error) << bad;
}

TEST(ChildProcess, NonZeroExitAndStderrAreReported) {
  const ChildResult r =
      run_child({"/bin/sh", "-c", "echo out; echo oops >&2; exit 3"}, kCaptureBoth);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.signal, 0);
  EXPECT_EQ(r.status(), "exit 3");
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "oops\n");
}

TEST(ChildProcess, DeathBySignalIsReported) {
  const ChildResult r = run_child({"/bin/sh", "-c", "kill -KILL $$"}, kCaptureBoth);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.signal, 9);
  EXPECT_EQ(r.status(), "signal 9");
}

TEST(ChildProcess, MissingProgramThrowsNamingIt) {
  const std::string missing = "/nonexistent/layerroute-missing";
  try {
    run_child({missing, "--help"});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot start " + missing), std::string::npos) << e.what();
  }
  EXPECT_THROW(run_child({}), Error);
}

TEST(ChildProcess, LargeOutputOnBothStreamsDoesNotBlock) {
  // More than a pipe holds on each stream, stderr first: reading one pipe to its end while the
  // child waits on the other would hang.
  const ChildResult r = run_child(
      {"/bin/sh", "-c", "head -c 300000 /dev/zero >&2; head -c 200000 /dev/zero"}, kCaptureBoth);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r.err.size(), 300000u);
  EXPECT_EQ(r.out.size(), 200000u);
}

TEST(ChildProcess, DiscardedOutputIsNotCaptured) {
  const ChildResult r = run_child({"/bin/sh", "-c", "echo out; echo err >&2"},
                                  {ChildStream::Discard, ChildStream::Capture});
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "err\n");
}

TEST(ChildProcess, StdinFromAFile) {
  const std::string in = temp_path("lr_child_stdin").string();
  std::ofstream(in, std::ios::binary) << "line 1\n$line 'two'\n";
  const ChildResult r = run_child({"/bin/cat"}, {ChildStream::Capture, ChildStream::Capture, in});
  std::filesystem::remove(in);
  ASSERT_TRUE(r.ok()) << r.status() << " " << r.err;
  EXPECT_EQ(r.out, "line 1\n$line 'two'\n");
  try {
    run_child({"/bin/cat"}, {ChildStream::Capture, ChildStream::Capture, in});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(in + ": cannot read"), std::string::npos) << e.what();
  }
}

TEST(ChildProcess, FindProgramSearchesPath) {
  const std::string sh = find_program("sh");
  ASSERT_FALSE(sh.empty());
  EXPECT_EQ(sh.substr(sh.size() - 3), "/sh");
  EXPECT_TRUE(run_child({sh, "-c", "exit 0"}).ok());
  EXPECT_EQ(find_program("lr-no-such-program"), "");
}

TEST(ChildProcess, SelfExecutableIsThisTestBinary) {
  const std::string self = self_executable();
  EXPECT_TRUE(std::filesystem::exists(self)) << self;
  EXPECT_NE(self.find("lr_tests"), std::string::npos) << self;
}

}  // namespace
}  // namespace lr
