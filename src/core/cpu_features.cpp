#include "core/cpu_features.h"

#include <cpuid.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "core/error.h"

namespace lr {

namespace {

uint64_t read_xcr0() {
  uint32_t lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (uint64_t(hi) << 32) | lo;
}

CpuFeatures detect() {
  CpuFeatures f;
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  f.fma = c & (1u << 12);
  f.f16c = c & (1u << 29);
  const bool osxsave = c & (1u << 27);
  const uint64_t xcr0 = osxsave ? read_xcr0() : 0;
  const bool os_ymm = (xcr0 & 0x6) == 0x6;
  f.os_zmm = (xcr0 & 0xe6) == 0xe6;  // SSE, AVX, opmask, ZMM_Hi256, Hi16_ZMM
  if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
    f.avx2 = os_ymm && (b & (1u << 5));
    f.avx512f = b & (1u << 16);
    f.avx512dq = b & (1u << 17);
    f.avx512bw = b & (1u << 30);
    f.avx512vl = b & (1u << 31);
    f.avx512_vnni = c & (1u << 11);
  }
  if (__get_cpuid_count(7, 1, &a, &b, &c, &d)) {
    f.avx_vnni = a & (1u << 4);
    f.avx512_bf16 = a & (1u << 5);
  }
  f.fma = f.fma && os_ymm;
  char brand[49] = {};
  if (unsigned(__get_cpuid_max(0x80000000u, nullptr)) >= 0x80000004u) {
    for (unsigned i = 0; i < 3; ++i) {
      __get_cpuid(0x80000002u + i, &a, &b, &c, &d);
      std::memcpy(brand + 16 * i, &a, 4);
      std::memcpy(brand + 16 * i + 4, &b, 4);
      std::memcpy(brand + 16 * i + 8, &c, 4);
      std::memcpy(brand + 16 * i + 12, &d, 4);
    }
  }
  f.model = brand;
  while (!f.model.empty() && f.model.back() == ' ') f.model.pop_back();
  while (!f.model.empty() && f.model.front() == ' ') f.model.erase(0, 1);
  return f;
}

CpuPath supported_from(const CpuFeatures& f) {
  const bool avx512 = f.os_zmm && f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq;
  if (avx512 && f.avx512_bf16 && f.avx512_vnni) return CpuPath::Avx512Bf16;
  if (avx512) return CpuPath::Avx512;
  return CpuPath::Avx2;
}

CpuPath path_from_env() {
  const CpuPath best = cpu_path_supported();
  const char* env = std::getenv("LR_CPU");
  if (!env || !*env) return best;
  CpuPath want;
  LR_CHECK(parse_cpu_path(env, &want), "LR_CPU=", env,
           ": unknown kernel path (expected avx2, avx512 or avx512bf16)");
  return int(want) < int(best) ? want : best;
}

CpuPath& current_path() {
  static CpuPath p = path_from_env();
  return p;
}

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures f = detect();
  return f;
}

std::string_view cpu_path_name(CpuPath p) {
  switch (p) {
    case CpuPath::Avx2:
      return "avx2";
    case CpuPath::Avx512:
      return "avx512";
    case CpuPath::Avx512Bf16:
      return "avx512bf16";
  }
  return "?";
}

bool parse_cpu_path(std::string_view s, CpuPath* out) {
  for (int i = 0; i < kCpuPathCount; ++i)
    if (s == cpu_path_name(CpuPath(i))) {
      *out = CpuPath(i);
      return true;
    }
  return false;
}

CpuPath cpu_path_supported() {
  static const CpuPath p = supported_from(cpu_features());
  return p;
}

CpuPath cpu_path() {
  return current_path();
}

void set_cpu_path(CpuPath p) {
  LR_CHECK(int(p) <= int(cpu_path_supported()), "kernel path ", cpu_path_name(p),
           " is not supported by this CPU (best: ", cpu_path_name(cpu_path_supported()), ")");
  current_path() = p;
}

std::string cpu_path_summary() {
  const CpuFeatures& f = cpu_features();
  std::string s(cpu_path_name(cpu_path()));
  s += " (" + (f.model.empty() ? std::string("unknown CPU") : f.model) + ";";
  const std::pair<const char*, bool> flags[] = {{"avx2", f.avx2},
                                                {"fma", f.fma},
                                                {"avx512f", f.avx512f},
                                                {"avx512bw", f.avx512bw},
                                                {"avx512vl", f.avx512vl},
                                                {"avx512dq", f.avx512dq},
                                                {"avx512_bf16", f.avx512_bf16},
                                                {"avx512_vnni", f.avx512_vnni},
                                                {"avx_vnni", f.avx_vnni}};
  for (const auto& [name, on] : flags)
    if (on) s += std::string(" ") + name;
  s += ")";
  return s;
}

}  // namespace lr
