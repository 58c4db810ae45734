#pragma once
// Tokenized samples (text/) into padded micro-batches (layerroute/batch.h).
#include <cstdint>
#include <vector>

#include "layerroute/batch.h"
#include "text/dataset.h"

namespace lr {

// Pads every row to the longest with pad_id; throws when a row's loss mask and ids differ
// in length.
Batch make_batch(const std::vector<const TokenizedSample*>& rows, int32_t pad_id);

}  // namespace lr
