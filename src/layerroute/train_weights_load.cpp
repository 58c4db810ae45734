// Loading from a checkpoint lives apart from train_weights.cpp so that linking zeros/random
// does not require the safetensors reader.
#include "io/safetensors.h"
#include "layerroute/train_weights.h"

namespace lr {

TrainWeights TrainWeights::load(const ModelConfig& cfg, const Checkpoint& ckpt) {
  TrainWeights w = zeros(cfg);
  for (TensorSlot& s : w.tensors()) {
    std::vector<float> v = ckpt.load_f32(s.name, s.shape);  // checks shape, names the file
    std::copy(v.begin(), v.end(), s.data);
  }
  return w;
}

}  // namespace lr
