#include "layerroute/routed_session.h"

namespace lr {

std::span<const float> RoutedSession::prefill(std::span<const int> ids, bool all_positions) {
  const std::span<const int> one[1] = {ids};
  b_.prefill(one, all_positions);
  return b_.logits(0);
}

std::span<const float> RoutedSession::decode(int id) {
  b_.decode({&id, 1});
  return b_.logits(0);
}

}  // namespace lr
