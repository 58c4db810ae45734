#pragma once
// The instruction sets of the CPU we run on, read once with cpuid, and the kernel path
// chosen from them. The binary is built for x86-64-v3 (AVX2 + FMA + F16C); AVX-512 and
// BF16 kernels are compiled for their own targets and only called where cpu_path() says
// the CPU (and the OS, which must save the zmm registers) has them.
#include <string>
#include <string_view>

namespace lr {

struct CpuFeatures {
  bool avx2 = false, fma = false, f16c = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false;
  bool avx512_bf16 = false, avx512_vnni = false, avx_vnni = false;
  bool os_zmm = false;  // XCR0 has the opmask and zmm state enabled
  std::string model;    // the brand string, e.g. "AMD EPYC 9R45"
};
const CpuFeatures& cpu_features();

// Kernel paths, each a superset of the one before.
//   avx2:       AVX2 + FMA, 8 fp32 lanes (the build's baseline)
//   avx512:     AVX-512 F/BW/VL/DQ, 16 fp32 lanes
//   avx512bf16: avx512 + AVX512-BF16 (vdpbf16ps) and AVX512-VNNI
enum class CpuPath { Avx2 = 0, Avx512 = 1, Avx512Bf16 = 2 };
constexpr int kCpuPathCount = 3;

std::string_view cpu_path_name(CpuPath p);
bool parse_cpu_path(std::string_view s, CpuPath* out);  // false when unknown

// The best path the CPU supports.
CpuPath cpu_path_supported();

// The path the kernels take: the supported one, lowered by the environment variable
// LR_CPU=avx2|avx512|avx512bf16 (never raised above what the CPU has; an unknown value
// is an error at first use) and by set_cpu_path.
CpuPath cpu_path();

// Forces a path (tests and benchmarks compare them); a path above the supported one is
// an error. Not for use while kernels run on other threads.
void set_cpu_path(CpuPath p);

// "avx512bf16 (AMD EPYC ...; avx2 fma avx512f ... )": what `version` and `bench` print.
std::string cpu_path_summary();

}  // namespace lr
