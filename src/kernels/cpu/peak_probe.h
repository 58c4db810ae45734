#pragma once
// The arithmetic peak of each kernel path, probed: a loop of independent multiply-adds on
// registers only (no memory traffic), on every compute thread. `bench` divides its GEMM
// and prefill rates by the peak of the path they ran on, so a share is against the real
// limit of the machine, not against another library.
#include "core/cpu_features.h"

namespace lr {

enum class PeakLoop {
  FmaAvx2,    // vfmadd231ps ymm: 8 lanes x 2 FLOP
  FmaAvx512,  // vfmadd231ps zmm: 16 lanes x 2 FLOP
  Bf16Dot,    // vdpbf16ps zmm: 16 lanes x 2 products x 2 FLOP
};
const char* peak_loop_name(PeakLoop l);

// Whether this CPU can run the loop.
bool peak_loop_supported(PeakLoop l);

// The loop our GEMM runs on kernel path p (gemm.cpp): the bf16 dot where its operands are
// bf16 (bf16 or q8 weights, bf16 frozen training weights) on avx512bf16, else the path's
// fp32 FMA. A GEMM's share is against this loop's peak.
PeakLoop gemm_peak_loop(CpuPath p, bool bf16_weights);

// FLOP/s of the loop on num_threads() threads, best of `reps` runs of about `seconds`
// each; 0 where the CPU lacks the instructions.
double probe_peak_flop_s(PeakLoop l, double seconds = 0.1, int reps = 3);

}  // namespace lr
