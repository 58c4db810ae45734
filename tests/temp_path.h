#pragma once
// Temp paths private to this test process: ctest runs each test in its own process, in parallel,
// so a fixed name under /tmp is shared between concurrently running tests and they race.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

namespace lr::test {

inline std::filesystem::path temp_path(const std::string& name) {
  return std::filesystem::path(testing::TempDir()) / (name + "_" + std::to_string(::getpid()));
}

}  // namespace lr::test
