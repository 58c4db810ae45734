#pragma once
// The limits `bench` judges speed by: memory read bandwidth (decode reads every weight once
// per token) and the OpenBLAS sgemm rate (prefill and training are GEMMs). This VM's speed
// moves by up to 2x between phases lasting seconds (and a lone 1 GiB sum now and then reads
// far faster than the next ones), so besides the once-per-run figures there are probes
// cheap enough to run beside each measurement, on buffers kept for the whole run.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace lr {

struct Linear;
struct Model;

// A buffer of `bytes` (huge pages asked for, as for the weights) filled with 1.0f, and a
// plain sum over it by all compute threads: the read bandwidth of this moment. Resident for
// the probe's life (resident_bytes() says how much, for a fair peak RSS).
class BandwidthProbe {
 public:
  explicit BandwidthProbe(size_t bytes);
  ~BandwidthProbe();
  BandwidthProbe(const BandwidthProbe&) = delete;
  BandwidthProbe& operator=(const BandwidthProbe&) = delete;
  bool ok() const { return p_ != nullptr; }
  double bytes() const { return double(n_) * sizeof(float); }
  // One pass; returns its seconds. last_sum(): what it added up (the float count).
  double pass();
  double last_sum() const { return sum_; }
  size_t resident_bytes() const { return resident_; }

 private:
  float* p_ = nullptr;
  size_t n_ = 0, resident_ = 0;
  double sum_ = 0;
};

// Bytes per second of a sum over a fresh 1 GiB BandwidthProbe, best of 3 after one warm
// pass; 0 if it cannot map it.
double read_bandwidth_1gib();

// Weight bytes one decoded token reads from a matrix (bias included), and from the whole
// model: every block matrix and the LM head once (the embedding row and the norms are noise).
double linear_bytes(const Linear& L);
double decode_bytes(const Model& m);

// OpenBLAS sgemm at M=512, 896 -> 4864 (an MLP projection of a prefill) on buffers made
// once (~29 MB, resident for the probe's life: resident_bytes() says how much).
class SgemmProbe {
 public:
  SgemmProbe();
  // FLOP/s, best of `reps` after a warm-up call.
  double rate(int reps = 3);
  size_t resident_bytes() const { return resident_; }

 private:
  std::vector<float> a_, w_, c_;
  size_t resident_ = 0;
};

// Our GEMM (gemm_nt on the kernel path in force) at the same shape, weights in bf16
// panels (the inference layout): what a bf16 prefill's projections run at.
class GemmProbe {
 public:
  GemmProbe();
  double rate(int reps = 3);  // FLOP/s, best of reps after a warm-up call
  const char* kernel() const;  // gemm_kernel_name for its weights

 private:
  std::vector<float> a_, c_;
  std::vector<uint16_t> w_;
};

}  // namespace lr
