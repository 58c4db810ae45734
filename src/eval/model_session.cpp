#include "eval/model_session.h"

#include "layerroute/gates.h"

namespace lr::eval {

std::string RouteSetup::describe() const {
  std::string s = "routing: gates " + opt.gates.str();
  if (opt.gates.mode == GateMode::Router && !router()) s += " (no routers loaded: all blocks run)";
  if (adapters) {
    s += "; adapters " + adapters->dir + " (";
    s += adapters->has_lora ? "LoRA r" + std::to_string(adapters->lora.cfg.rank) : "no LoRA";
    if (adapters->has_lora && !lora()) s += ", off";
    s += adapters->has_router ? ", routers, threshold " + std::to_string(opt.settings.threshold) +
                                    ", pooling " + route_pool_name(opt.settings.pool)
                              : ", no routers";
    s += ")";
  }
  return s;
}

ModelSession::ModelSession(const Model& model, const RouteSetup* setup, int max_T, int max_chunk) {
  if (!setup) {
    plain_.emplace(model, max_T, max_chunk);
    return;
  }
  routed_.emplace(model, setup->router(), setup->opt, max_T, max_chunk);
  routed_->set_lora(setup->lora());
}

std::span<const float> ModelSession::prefill(std::span<const int> ids, bool all_positions) {
  return plain_ ? plain_->prefill(ids, all_positions) : routed_->prefill(ids, all_positions);
}

std::span<const float> ModelSession::decode(int id) {
  return plain_ ? plain_->decode(id) : routed_->decode(id);
}

void ModelSession::reset() {
  if (plain_)
    plain_->reset();
  else
    routed_->reset();
}

}  // namespace lr::eval
