#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite; then re-runs the input-validation tests
# (corrupt files, malformed rows, bad flags, the CLI end to end) under AddressSanitizer +
# UBSan; then the fuzz targets (scripts/fuzz.sh --ci: every committed crash input, then
# 20 s per target on the seed corpus).
# LR_SKIP_ASAN=1 skips the sanitizer pass, LR_SKIP_FUZZ=1 the fuzz pass.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
"$here/scripts/setup.sh"
"$here/scripts/build.sh"
(cd "${LR_BUILD_DIR:-$here/build}" && ctest --output-on-failure -j "$(nproc)" --timeout 900)

if [ "${LR_SKIP_ASAN:-0}" != 1 ]; then
  asan="$here/build-asan"
  if [ ! -f "$asan/build.ninja" ]; then
    cmake -S "$here" -B "$asan" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DLR_SANITIZE=ON \
      -DLR_BUILD_BENCH=OFF >/dev/null
  fi
  cmake --build "$asan" -j "$(nproc)" --target lr_tests layerroute
  echo "== input validation and the hand-written kernels under ASan/UBSan"
  # The demo is left out here: it only chains train, eval and generate, whose own CLI tests
  # run below, and its model training under ASan would dominate CI's time.
  ASAN_OPTIONS=detect_leaks=1 "$asan/lr_tests" \
    --gtest_filter='ThreadPool*:Gemm*:*GemmPath*:*AttentionPath*:*OneNumericsPath*:*PanelPath*:*GemvBatch*:ChildProcess*:CpuPath*:GemvRows*:JoinBackoff*:HugeArena*:MachineLimits*:Kernel*:SafetensorsCorrupt*:Safetensors.*:Npy*:Config*:Json*:AtomicFile*:TokenizerErrors*:TokenizerUtf8*:Dataset*:Cli*:ChatTemplate*:AdapterLoad*:InputLimits*:FuzzRegression*:ServeToolCalls*:ServeRequest*:-CliDemo.*'
fi

if [ "${LR_SKIP_FUZZ:-0}" != 1 ]; then
  echo "== fuzz targets: committed crash inputs, then 20 s each on the seeds"
  "$here/scripts/fuzz.sh" --ci
fi
