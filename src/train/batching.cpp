#include "train/batching.h"

#include <algorithm>

#include "core/error.h"

namespace lr {

Batch make_batch(const std::vector<const TokenizedSample*>& rows, int32_t pad_id) {
  Batch b;
  b.rows = static_cast<int>(rows.size());
  size_t seq = 0;
  for (const TokenizedSample* r : rows) {
    LR_CHECK(r != nullptr, "make_batch: null row");
    LR_CHECK(r->loss_mask.size() == r->ids.size(), "make_batch: a row has ", r->ids.size(),
             " ids but ", r->loss_mask.size(), " loss-mask entries");
    seq = std::max(seq, r->ids.size());
  }
  b.seq = static_cast<int>(seq);
  b.ids.assign(rows.size() * seq, pad_id);
  b.attn_mask.assign(rows.size() * seq, 0);
  b.loss_mask.assign(rows.size() * seq, 0);
  for (size_t i = 0; i < rows.size(); ++i) {
    const TokenizedSample& r = *rows[i];
    std::copy(r.ids.begin(), r.ids.end(), b.ids.begin() + i * seq);
    std::fill_n(b.attn_mask.begin() + i * seq, r.ids.size(), 1);
    std::copy(r.loss_mask.begin(), r.loss_mask.end(), b.loss_mask.begin() + i * seq);
    b.labels.push_back(r.label);
  }
  return b;
}

}  // namespace lr
