#pragma once
// The LayerRoute training graph: forward over a padded micro-batch keeping activations, and
// a hand-written backward (llm.c style) into LoRA, router and, in full mode, every weight.
//
//   TrainGraph g(weights, &lora, &routers, opts);
//   g.zero_grad();
//   for each micro-batch: g.forward(batch, {.step = micro_step, .loss_scale = 1.f / accum});
//                         g.backward();
//   auto ps = g.params();  clip_grad_norm(ps, 1.0); adamw.step(ps, lr); zero_grad(ps);
//
// Gates: per block and row, soft = sigmoid(w . pool(h) + b), g = (soft > threshold); the
// block output is g B(h) + (1 - g) h, and backward uses the straight-through estimator
// (dL/dsoft = sum over the row of dL/dh_out . (B(h) - h)). B(h) is always computed.
#include <cstdint>
#include <vector>

#include "kernels/cpu/rope.h"
#include "layerroute/batch.h"
#include "layerroute/lora.h"
#include "layerroute/ops.h"
#include "layerroute/params.h"
#include "layerroute/router.h"
#include "layerroute/train_weights.h"

namespace lr {

enum class Trainable { LoraRouters, All };
enum class RouterLoss {
  GateReg,       // lambda * mean over blocks of the batch-mean soft gate (default)
  BceNaive,      // lambda * mean BCE(soft, y), y = 1 for tool_call, 0 for planning
  BceCorrected,  // lambda * mean BCE(soft, 1 - y)
};
enum class TrainGate {
  Hard,     // g = soft > threshold, STE backward (training and evaluation)
  AllOpen,  // g = 1: every block runs, routers neither used nor trained
  Fixed,    // g = fixed_mask[block] for every row: routers neither used nor trained
};

struct TrainOptions {
  Trainable trainable = Trainable::LoraRouters;
  TrainGate gate_mode = TrainGate::Hard;
  RouterPooling pooling = RouterPooling::MaskedMean;
  RouterLoss router_loss = RouterLoss::GateReg;
  float lambda = 1.0f;
  float threshold = 0.5f;
  double logit_offset = 0.0;  // added to every router logit (the inference dial; 0 in training)
  uint64_t seed = 0;          // keys the LoRA dropout masks
  // Target rows per LM-head chunk: enough rows for the GEMM to run at speed, few enough
  // that chunk x vocab logits stay small.
  int ce_chunk = 256;
  std::vector<unsigned char> fixed_mask;  // TrainGate::Fixed: one 0/1 per block
  // The frozen backbone's GEMMs (forward and input gradient; ops.h). LoRA, routers, norms,
  // attention and the optimizer are f32 either way; Trainable::All keeps every GEMM f32.
  ops::FrozenMatmul frozen_matmul = ops::FrozenMatmul::F32;
};

struct RunOptions {
  uint64_t step = 0;       // micro-step counter; keys this step's dropout masks
  bool dropout = true;     // LoRA dropout (off for evaluation and gradient checks)
  bool need_grad = true;   // keep what backward needs (the LM head gradient is fused here)
  float loss_scale = 1.f;  // gradients are of loss_scale * loss (1 / grad_accum)
};

struct StepMetrics {
  double loss = 0;             // ce + lambda * router_term
  double ce = 0;               // mean CE over target tokens
  double ppl = 0;              // exp(ce)
  double gate_reg = 0;         // mean over blocks of the batch-mean soft gate
  double router_term = 0;      // gate_reg, or the BCE in the BCE ablations; 0 when AllOpen
  double mean_blocks_run = 0;  // per row, averaged over rows
  double skip_pct = 0;         // 100 * (1 - mean_blocks_run / L)
  long n_targets = 0, tokens = 0;
  int rows = 0;
  std::vector<double> block_soft;  // [L] batch-mean soft gate
  std::vector<double> block_open;  // [L] fraction of rows whose gate is open
};

class TrainGraph {
 public:
  // lora may be nullptr (no adapters); routers may be nullptr only with TrainGate::AllOpen/Fixed.
  // The graph keeps pointers: the weights must outlive it.
  TrainGraph(TrainWeights& weights, LoraWeights* lora, RouterWeights* routers,
             const TrainOptions& opts);

  // Sizes the activation arena for rows x seq (forward calls it; it only grows).
  void reserve(int rows, int seq);

  // Runs the batch; ids outside the vocabulary throw. Labels are only read for BCE losses.
  StepMetrics forward(const Batch& batch, const RunOptions& run);
  // Accumulates loss_scale * dLoss into the gradients of params(). Needs a forward with
  // need_grad just before.
  void backward();

  // Trainable tensors with their gradients: LoRA (PEFT names), routers, and in full mode
  // every model weight (HF names).
  std::vector<Param> params();
  void zero_grad();

  const std::vector<float>& soft_gates() const { return soft_; }  // [L * rows], last forward
  const std::vector<float>& gates() const { return gate_; }       // [L * rows]
  const TrainOptions& options() const { return opts_; }
  // RMSNorm of the last block's output [rows * seq, H], last forward: the LM head's input.
  const float* final_normed() const { return hf_; }

 private:
  struct LayerActs {
    float *h_in, *a, *inv_in, *q, *k, *v, *att, *lse, *h1, *m, *inv_post, *gate, *up, *bout;
    float* u[kNumLoraTargets];
    float* pool;
  };
  // first_token: the op runs on tokens from there on (dropout mask offset).
  ops::LoraOp lora_op(int layer, LoraTarget t, bool train_dropout, long first_token = 0) const;
  // Gates come from the routers (Hard) rather than being given (AllOpen, Fixed).
  bool routes() const { return opts_.gate_mode == TrainGate::Hard; }
  ops::FrozenMatmul frozen_mm() const {
    return opts_.trainable == Trainable::All ? ops::FrozenMatmul::F32 : opts_.frozen_matmul;
  }

  // Forward stages, in order.
  void forward_inputs(const Batch& batch);
  void forward_router(int layer);
  void forward_block(int layer, bool dropout);
  double forward_head_loss(const RunOptions& run);  // the CE sum over targets
  StepMetrics forward_metrics(double ce_sum) const;
  // Backward stages, the same in reverse.
  void backward_head();
  void backward_block(int layer);
  void backward_block_rows(int layer, int r0, int nr);
  void backward_router(int layer);
  void backward_inputs();

  TrainWeights& w_;
  LoraWeights* lora_;
  RouterWeights* router_;
  TrainOptions opts_;
  TrainWeights gw_;    // full mode only
  LoraWeights glora_;  // when lora_
  RouterWeights grouter_;

  // Current batch.
  int rows_ = 0, T_ = 0, cap_rows_ = 0, cap_T_ = 0;
  long N_ = 0;
  uint64_t step_ = 0;
  bool dropout_on_ = false, have_grad_ = false;
  float loss_scale_ = 1.f;
  std::vector<int32_t> ids_;
  std::vector<uint8_t> mask_;
  std::vector<float> labels_;  // 1 = tool_call
  std::vector<int32_t> tgt_pos_, tgt_id_;
  std::vector<float> soft_, gate_;  // [L * rows]
  std::vector<double> z_, dsoft_;   // [rows]: router logits, dL/dsoft (one block at a time)
  std::vector<float> dz_;           // [rows]

  // Arena and the views carved out of it.
  std::vector<float> arena_;
  std::vector<double> row_loss_;
  std::vector<LayerActs> acts_;
  float *h_final_ = nullptr, *hf_ = nullptr, *inv_final_ = nullptr, *dhf_ = nullptr;
  float *act_ = nullptr, *scratch_in_ = nullptr, *scratch_r_ = nullptr, *attn_scratch_ = nullptr;
  float *ce_x_ = nullptr, *ce_dx_ = nullptr, *ce_logits_ = nullptr;
  RopeTable rope_;  // for cap_T_ positions
  float *dres_ = nullptr, *db_ = nullptr, *dm_ = nullptr, *dact_ = nullptr, *dgate_ = nullptr,
        *dup_ = nullptr, *dq_ = nullptr, *dk_ = nullptr, *dv_ = nullptr, *datt_ = nullptr,
        *da_ = nullptr, *partial_ = nullptr;
};

}  // namespace lr
