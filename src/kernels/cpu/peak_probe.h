#pragma once
// The arithmetic peak of each kernel path, probed: a loop of independent multiply-adds on
// registers only (no memory traffic), on every compute thread. `bench` divides its GEMM
// and prefill rates by the peak of the path they ran on, so a share is against the real
// limit of the machine, not against another library.
namespace lr {

enum class PeakLoop {
  FmaAvx2,    // vfmadd231ps ymm: 8 lanes x 2 FLOP
  FmaAvx512,  // vfmadd231ps zmm: 16 lanes x 2 FLOP
  Bf16Dot,    // vdpbf16ps zmm: 16 lanes x 2 products x 2 FLOP
};
const char* peak_loop_name(PeakLoop l);

// Whether this CPU can run the loop.
bool peak_loop_supported(PeakLoop l);

// FLOP/s of the loop on num_threads() threads, best of `reps` runs of about `seconds`
// each; 0 where the CPU lacks the instructions.
double probe_peak_flop_s(PeakLoop l, double seconds = 0.1, int reps = 3);

}  // namespace lr
