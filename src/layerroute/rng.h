#pragma once
// Counter-based randomness: every draw is a pure function of (key, index), so results do
// not depend on thread count or scheduling, and a step's dropout mask can be regenerated
// in backward instead of stored.
#include <cmath>
#include <cstdint>

namespace lr {

// splitmix64's constants, shared with the 8-wide draw in ops_norm.cpp (same bits).
constexpr uint64_t kSplitmixGamma = 0x9E3779B97F4A7C15ull;
constexpr uint64_t kSplitmixMul1 = 0xBF58476D1CE4E5B9ull;
constexpr uint64_t kSplitmixMul2 = 0x94D049BB133111EBull;
// Index i's stride in uniform_at's counter.
constexpr uint64_t kDrawStride = 0xD1B54A32D192ED03ull;

inline uint64_t splitmix64(uint64_t x) {
  x += kSplitmixGamma;
  x = (x ^ (x >> 30)) * kSplitmixMul1;
  x = (x ^ (x >> 27)) * kSplitmixMul2;
  return x ^ (x >> 31);
}

// Combines keys into one (order matters).
inline uint64_t mix_key(uint64_t a, uint64_t b) {
  return splitmix64(a ^ splitmix64(b + 0x632BE59BD9B4E019ull));
}

// Uniform in [0, 1) with 24 random bits, from (key, i).
inline float uniform_at(uint64_t key, uint64_t i) {
  return float(splitmix64(key ^ (i * kDrawStride)) >> 40) * (1.0f / 16777216.0f);
}

// Sequential stream for initialisation.
struct Rng {
  uint64_t key;
  uint64_t i = 0;
  explicit Rng(uint64_t k) : key(k) {}
  double uniform() { return double(splitmix64(key ^ (i++ * kDrawStride)) >> 11) * 0x1.0p-53; }
  // Box-Muller; one normal per two uniforms keeps the stream position simple.
  double normal() {
    double u1 = uniform(), u2 = uniform();
    if (u1 < 1e-300) u1 = 1e-300;
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
};

}  // namespace lr
