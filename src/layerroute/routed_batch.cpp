#include "layerroute/routed_batch.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "kernels/cpu/linear.h"

namespace lr {

int64_t RouteCounters::total_block_rows() const {
  int64_t s = 0;
  for (int64_t v : block_rows) s += v;
  return s;
}

RoutedBatch::RoutedBatch(const Model& model, const RouterWeights* router, RouteOptions opt,
                         int batch, int max_T, int max_chunk)
    : router_(router), opt_(std::move(opt)), max_T_(max_T), runner_(model, max_T, max_chunk) {
  const ModelConfig& c = model.config;
  LR_CHECK(batch > 0, "routed batch: batch size ", batch, " must be positive");
  opt_.gates.check(c.n_layers);
  if (router_)
    LR_CHECK(router_->n_layers == c.n_layers && router_->hidden == c.hidden, "routers are for ",
             router_->n_layers, " blocks of width ", router_->hidden, ", the model has ",
             c.n_layers, " of width ", c.hidden);
  for (int i = 0; i < batch; ++i) add_row();
  reset_counters();
}

int RoutedBatch::add_row() {
  size_t i = 0;
  while (i < rows_.size() && rows_[i]) ++i;
  if (i == rows_.size()) {
    rows_.emplace_back();
    logits_at_.emplace_back(0, 0);
  }
  rows_[i].emplace(model().config, max_T_, opt_.gates);
  logits_at_[i] = {0, 0};
  return int(i);
}

void RoutedBatch::remove_row(int row) {
  row_seq(row);  // checks the index
  drop_pending(row);
  rows_[size_t(row)].reset();
  logits_at_[size_t(row)] = {0, 0};
}

bool RoutedBatch::active(int row) const {
  return row >= 0 && size_t(row) < rows_.size() && rows_[size_t(row)].has_value();
}

RoutedSeq& RoutedBatch::row_seq(int row) {
  LR_CHECK(active(row), "routed batch: row ", row, " is not an active row of ", rows_.size());
  return *rows_[size_t(row)];
}

const RoutedSeq& RoutedBatch::seq(int row) const {
  LR_CHECK(active(row), "routed batch: row ", row, " is not an active row of ", rows_.size());
  return *rows_[size_t(row)];
}

void RoutedBatch::set_gates(int row, const GateSpec& g) {
  g.check(model().config.n_layers);
  row_seq(row).spec = g;
}

void RoutedBatch::set_gates(const GateSpec& g) {
  for (int r = 0; r < batch(); ++r)
    if (active(r)) set_gates(r, g);
}

void RoutedBatch::reset_counters() {
  counters_.block_rows.assign(size_t(model().config.n_layers), 0);
  counters_.backfill_rows.assign(size_t(model().config.n_layers), 0);
}

void RoutedBatch::reset(int row) {
  row_seq(row);
  drop_pending(row);
  row_seq(row).reset();
  logits_at_[size_t(row)] = {0, 0};
}

void RoutedBatch::reset() {
  for (int r = 0; r < batch(); ++r)
    if (active(r)) reset(r);
}

std::span<const float> RoutedBatch::logits(int row) const {
  seq(row);
  const auto [off, n] = logits_at_[size_t(row)];
  return {logits_.data() + off, n};
}

void RoutedBatch::clear_logits() {
  for (auto& at : logits_at_) at = {0, 0};
}

void RoutedBatch::check_part(int row, int n) const {
  const RoutedSeq& s = seq(row);
  LR_CHECK(!prefilling(row), "routed batch: row ", row, " is in a chunked prefill");
  LR_CHECK(s.len() + n <= s.cache.max_T(), "context full: ", s.len(), " + ", n, " tokens > max ",
           s.cache.max_T(), " (row ", row, ")");
}

void RoutedBatch::add_part(Group& g, int row, std::span<const int> ids) {
  RoutedSeq& s = row_seq(row);
  const int n = int(ids.size());
  const size_t H = size_t(model().config.hidden);
  const int off = g.N;
  g.N += n;
  if (g.h.size() < size_t(g.N) * H) g.h.resize(size_t(g.N) * H);
  if (g.pos.size() < size_t(g.N)) g.pos.resize(size_t(g.N));
  runner_.embed(ids.data(), n, g.h.data() + size_t(off) * H);
  for (int t = 0; t < n; ++t) g.pos[size_t(off + t)] = s.len() + t;
  if (g.decide) {
    const size_t L = size_t(model().config.n_layers);
    s.steps.push_back(RoutedSeq::Step{s.len(), s.len() + n, std::vector<int>(L, -1), {}});
    s.gates.assign(L, 0);
    s.soft.assign(L, 0.f);
  } else {
    s.steps.back().p1 += n;
  }
  g.parts.push_back(Part{row, off, n});
}

void RoutedBatch::prefill(std::span<const std::span<const int>> ids, bool all_positions) {
  LR_CHECK(ids.size() == rows_.size(), "routed batch: ", ids.size(), " inputs for ", rows_.size(),
           " rows");
  for (size_t r = 0; r < ids.size(); ++r)
    if (!ids[r].empty()) check_part(int(r), int(ids[r].size()));
  once_.parts.clear();
  once_.N = 0;
  once_.next = 0;
  once_.decide = true;
  for (size_t r = 0; r < ids.size(); ++r)
    if (!ids[r].empty()) add_part(once_, int(r), ids[r]);
  run_all(once_, all_positions);
}

void RoutedBatch::decode(std::span<const int> rows, std::span<const int> ids) {
  LR_CHECK(rows.size() == ids.size(), "decode: ", ids.size(), " tokens for ", rows.size(), " rows");
  for (size_t i = 0; i < rows.size(); ++i) {
    const RoutedSeq& s = row_seq(rows[i]);
    LR_CHECK(!s.steps.empty(), "decode before any prefill (row ", rows[i], ")");
    check_part(rows[i], 1);
    for (size_t j = 0; j < i; ++j)
      LR_CHECK(rows[j] != rows[i], "decode: row ", rows[i], " listed twice");
  }
  once_.parts.clear();
  once_.N = 0;
  once_.next = 0;
  once_.decide = false;
  for (size_t i = 0; i < rows.size(); ++i) add_part(once_, rows[i], ids.subspan(i, 1));
  run_all(once_, /*all_positions=*/false);
}

void RoutedBatch::begin_prefill(std::span<const std::span<const int>> ids) {
  LR_CHECK(ids.size() == rows_.size(), "routed batch: ", ids.size(), " inputs for ", rows_.size(),
           " rows");
  for (size_t r = 0; r < ids.size(); ++r)
    if (!ids[r].empty()) check_part(int(r), int(ids[r].size()));
  Group g;
  for (size_t r = 0; r < ids.size(); ++r)
    if (!ids[r].empty()) add_part(g, int(r), ids[r]);
  if (g.N > 0) pending_.push_back(std::move(g));
}

std::span<const int> RoutedBatch::advance_prefill(int64_t budget) {
  LR_CHECK(budget > 0, "advance_prefill: budget ", budget, " must be positive");
  clear_logits();
  completed_.clear();
  const int L = model().config.n_layers;
  const size_t V = size_t(model().config.vocab);
  int64_t used = 0;
  size_t base = 0;  // logits_ offset of the next completed group
  while (!pending_.empty() && used < budget) {
    Group& g = pending_.front();
    while (g.next < L && used < budget) used += run_layer(g, g.next++);
    if (g.next < L) break;
    finish(g, /*all_positions=*/false, base);
    base += g.parts.size() * V;
    for (const Part& p : g.parts) completed_.push_back(p.row);
    pending_.erase(pending_.begin());
  }
  return completed_;
}

bool RoutedBatch::prefilling(int row) const {
  for (const Group& g : pending_)
    for (const Part& p : g.parts)
      if (p.row == row) return true;
  return false;
}

void RoutedBatch::drop_pending(int row) {
  const size_t H = size_t(model().config.hidden);
  for (auto g = pending_.begin(); g != pending_.end(); ++g) {
    auto p =
        std::find_if(g->parts.begin(), g->parts.end(), [&](const Part& x) { return x.row == row; });
    if (p == g->parts.end()) continue;
    // Close the gap so the group's rows stay contiguous.
    const int off = p->off, n = p->n;
    std::memmove(g->h.data() + size_t(off) * H, g->h.data() + size_t(off + n) * H,
                 sizeof(float) * H * size_t(g->N - off - n));
    std::memmove(g->pos.data() + off, g->pos.data() + off + n,
                 sizeof(int) * size_t(g->N - off - n));
    g->N -= n;
    p = g->parts.erase(p);
    for (; p != g->parts.end(); ++p) p->off -= n;
    if (g->parts.empty()) pending_.erase(g);
    return;
  }
}

void RoutedBatch::decode(std::span<const int> ids) {
  LR_CHECK(ids.size() == rows_.size(), "decode: ", ids.size(), " tokens for ", rows_.size(),
           " rows");
  all_rows_.resize(ids.size());
  for (size_t r = 0; r < all_rows_.size(); ++r) all_rows_[r] = int(r);
  decode(all_rows_, ids);
}

void RoutedBatch::decide_gate(RoutedSeq& s, int l, const float* h, int n) {
  const int H = model().config.hidden;
  bool open = true;
  float soft = 1.f;
  if (s.spec.mode == GateMode::Mask) {
    open = s.spec.mask_opens(l);
    soft = open ? 1.f : 0.f;
  } else if (s.spec.mode == GateMode::Router && router_) {
    const float* w = router_->w.data() + size_t(l) * H;
    const float b = router_->b[size_t(l)];
    double z;
    if (opt_.settings.pool == RoutePool::Sequence) {
      // The running sum makes the sequence-so-far pool O(H) per block, not a re-read.
      z = router_logit(w, b, s.sums.data() + size_t(l) * H, double(s.len() + n), H);
    } else {
      pool_sum_.assign(size_t(H), 0.0);
      for (int t = 0; t < n; ++t)
        for (int i = 0; i < H; ++i) pool_sum_[size_t(i)] += h[size_t(t) * H + i];
      z = router_logit(w, b, pool_sum_.data(), double(n), H);
    }
    soft = router_soft(z, opt_.settings.logit_offset);
    open = gate_open(soft, opt_.settings.threshold);
  }
  s.gates[size_t(l)] = open;
  s.soft[size_t(l)] = soft;
}

template <typename Fn>
void RoutedBatch::in_chunks(float* buf, const std::vector<Piece>& pieces, Fn fn) {
  const size_t H = size_t(model().config.hidden);
  const int C = runner_.max_chunk();
  segs_.clear();
  int start = 0, used = 0;
  for (const Piece& p : pieces) {
    for (int done = 0; done < p.T;) {
      if (used == C) {
        fn(buf + size_t(start) * H, std::span<const KVSegment>(segs_));
        segs_.clear();
        used = 0;
      }
      const int take = std::min(p.T - done, C - used);
      if (used == 0) start = p.buf_off + done;
      segs_.push_back(KVSegment{&row_seq(p.row).cache, p.positions + done, take});
      used += take;
      done += take;
    }
  }
  if (used) fn(buf + size_t(start) * H, std::span<const KVSegment>(segs_));
}

void RoutedBatch::backfill(int l, const std::vector<int>& open) {
  const size_t H = size_t(model().config.hidden);
  size_t M = 0;
  for (int ri : open) {
    const RoutedSeq& s = *rows_[size_t(ri)];
    M += size_t(s.len() - s.filled[size_t(l)]);
  }
  if (M == 0) return;
  if (bf_.size() < M * H) bf_.resize(M * H);
  if (bf_pos_.size() < M) bf_pos_.resize(M);
  pieces_.clear();
  int g = 0;
  for (int ri : open) {
    const RoutedSeq& s = *rows_[size_t(ri)];
    const int a = s.filled[size_t(l)], b = s.len();
    if (a >= b) continue;
    pieces_.push_back(Piece{ri, g, b - a, bf_pos_.data() + g});
    // Steps are sorted by p0: find the one holding position a, then walk forward.
    auto st = std::upper_bound(s.steps.begin(), s.steps.end(), a,
                               [](int p, const RoutedSeq::Step& x) { return p < x.p0; }) -
              1;
    for (int p = a; p < b; ++p, ++g) {
      while (p >= st->p1) ++st;
      const int k = st->run_of_block[size_t(l)];
      LR_CHECK(k >= 0, "routing: block ", l, " has no K/V and no stored state at position ", p);
      std::memcpy(bf_.data() + size_t(g) * H,
                  st->run_states[size_t(k)].data() + size_t(p - st->p0) * H, sizeof(float) * H);
      bf_pos_[size_t(g)] = p;
    }
  }
  in_chunks(bf_.data(), pieces_,
            [&](float* h, std::span<const KVSegment> sg) { runner_.fill_kv(l, h, sg); });
  counters_.backfill_rows[size_t(l)] += int64_t(M);
}

void RoutedBatch::run_all(Group& g, bool all_positions) {
  clear_logits();
  if (g.N == 0) return;
  for (int l = 0; l < model().config.n_layers; ++l) run_layer(g, l);
  finish(g, all_positions, 0);
}

int64_t RoutedBatch::run_layer(Group& g, int l) {
  const size_t H = size_t(model().config.hidden);
  const int64_t before = counters_.block_rows[size_t(l)] + counters_.backfill_rows[size_t(l)];
  std::vector<int>& open = open_;  // indices into g.parts
  open.clear();
  open_rows_.clear();
  for (size_t i = 0; i < g.parts.size(); ++i) {
    const Part& p = g.parts[i];
    RoutedSeq& s = *rows_[size_t(p.row)];
    const float* h = g.h.data() + size_t(p.off) * H;
    double* sum = s.sums.data() + size_t(l) * H;
    for (int t = 0; t < p.n; ++t)
      for (size_t k = 0; k < H; ++k) sum[k] += h[size_t(t) * H + k];
    if (g.decide) decide_gate(s, l, h, p.n);
    if (s.gates[size_t(l)]) {
      open.push_back(int(i));
      open_rows_.push_back(p.row);
      continue;
    }
    // Skipped: identity. Keep the state entering the run of skipped blocks for backfill.
    RoutedSeq::Step& st = s.steps.back();
    const bool run_start = l == 0 || s.gates[size_t(l - 1)];
    if (g.decide) {
      if (run_start) {
        st.run_of_block[size_t(l)] = int(st.run_states.size());
        st.run_states.emplace_back();
      } else {
        st.run_of_block[size_t(l)] = st.run_of_block[size_t(l - 1)];
      }
    }
    if (run_start) {
      auto& v = st.run_states[size_t(st.run_of_block[size_t(l)])];
      v.insert(v.end(), h, h + size_t(p.n) * H);
    }
  }
  if (open.empty()) return 0;
  backfill(l, open_rows_);
  // Gather the open rows (unless all are open: then they already lie contiguous).
  const bool all_open = open.size() == g.parts.size();
  if (!all_open && gather_.size() < size_t(g.N) * H) gather_.resize(size_t(g.N) * H);
  float* buf = all_open ? g.h.data() : gather_.data();
  pieces_.clear();
  int at = 0;
  for (int i : open) {
    const Part& p = g.parts[size_t(i)];
    pieces_.push_back(Piece{p.row, all_open ? p.off : at, p.n, g.pos.data() + p.off});
    if (!all_open)
      std::memcpy(gather_.data() + size_t(at) * H, g.h.data() + size_t(p.off) * H,
                  sizeof(float) * H * size_t(p.n));
    at += p.n;
  }
  in_chunks(buf, pieces_,
            [&](float* h, std::span<const KVSegment> sg) { runner_.run_block(l, h, sg); });
  for (size_t k = 0; k < open.size(); ++k) {
    const Part& p = g.parts[size_t(open[k])];
    RoutedSeq& s = *rows_[size_t(p.row)];
    if (!all_open)
      std::memcpy(g.h.data() + size_t(p.off) * H, gather_.data() + size_t(pieces_[k].buf_off) * H,
                  sizeof(float) * H * size_t(p.n));
    s.filled[size_t(l)] = s.len() + p.n;
    counters_.block_rows[size_t(l)] += p.n;
  }
  return counters_.block_rows[size_t(l)] + counters_.backfill_rows[size_t(l)] - before;
}

void RoutedBatch::finish(Group& g, bool all_positions, size_t base) {
  const ModelConfig& c = model().config;
  const size_t H = size_t(c.hidden), V = size_t(c.vocab);
  // Logits: every new row, or only each row's last one (the LM head is the biggest matrix).
  const int C = runner_.max_chunk();
  const float* src = g.h.data();
  int M = g.N;
  if (!all_positions) {
    M = int(g.parts.size());
    if (last_.size() < size_t(M) * H) last_.resize(size_t(M) * H);
    for (int i = 0; i < M; ++i) {
      const Part& p = g.parts[size_t(i)];
      std::memcpy(last_.data() + size_t(i) * H, g.h.data() + size_t(p.off + p.n - 1) * H,
                  sizeof(float) * H);
    }
    src = last_.data();
  }
  if (logits_.size() < base + size_t(M) * V) logits_.resize(base + size_t(M) * V);
  float* out = logits_.data() + base;
  if (!all_positions) {
    // One row per sequence, each computed as that sequence alone computes its one row.
    for (int o = 0; o < M; o += C)
      runner_.final_logits(src + size_t(o) * H, std::min(C, M - o), out + size_t(o) * V,
                           RowKernel::Gemv);
  } else {
    // Runs of consecutive parts that take the same kernel (as BlockRunner::run_block).
    for (size_t i = 0; i < g.parts.size();) {
      const RowKernel k = g.parts[i].n < kGemmMinRows ? RowKernel::Gemv : RowKernel::ByRows;
      const int r0 = g.parts[i].off;
      int r1 = r0;
      for (; i < g.parts.size(); ++i) {
        const int n = g.parts[i].n;
        if ((n < kGemmMinRows ? RowKernel::Gemv : RowKernel::ByRows) != k) break;
        r1 += n;
      }
      for (int o = r0; o < r1; o += C)
        runner_.final_logits(src + size_t(o) * H, std::min(C, r1 - o), out + size_t(o) * V, k);
    }
  }
  for (size_t i = 0; i < g.parts.size(); ++i) {
    const Part& p = g.parts[i];
    logits_at_[size_t(p.row)] = all_positions ? std::pair{base + size_t(p.off) * V, size_t(p.n) * V}
                                              : std::pair{base + i * V, V};
    rows_[size_t(p.row)]->cache.len += p.n;
  }
}

}  // namespace lr
