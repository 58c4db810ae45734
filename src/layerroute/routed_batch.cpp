#include "layerroute/routed_batch.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"

namespace lr {

int64_t RouteCounters::total_block_rows() const {
  int64_t s = 0;
  for (int64_t v : block_rows) s += v;
  return s;
}

RoutedBatch::RoutedBatch(const Model& model, const RouterWeights* router, RouteOptions opt,
                         int batch, int max_T, int max_chunk)
    : model_(model), router_(router), opt_(std::move(opt)), engine_(model, max_T, max_chunk) {
  const ModelConfig& c = model.config;
  LR_CHECK(batch > 0, "routed batch: batch size ", batch, " must be positive");
  opt_.gates.check(c.n_layers);
  if (router_)
    LR_CHECK(router_->n_layers == c.n_layers && router_->hidden == c.hidden, "routers are for ",
             router_->n_layers, " blocks of width ", router_->hidden, ", the model has ",
             c.n_layers, " of width ", c.hidden);
  rows_.resize(size_t(batch));
  for (Row& r : rows_) {
    r.cache = KVCache(c.n_layers, c.kv_dim(), max_T);
    r.spec = opt_.gates;
  }
  reset();
  reset_counters();
}

void RoutedBatch::set_gates(int row, const GateSpec& g) {
  g.check(model_.config.n_layers);
  rows_.at(size_t(row)).spec = g;
}

void RoutedBatch::set_gates(const GateSpec& g) {
  for (int r = 0; r < batch(); ++r) set_gates(r, g);
}

void RoutedBatch::reset_counters() {
  counters_.block_rows.assign(size_t(model_.config.n_layers), 0);
  counters_.backfill_rows.assign(size_t(model_.config.n_layers), 0);
}

void RoutedBatch::reset() {
  const ModelConfig& c = model_.config;
  for (Row& r : rows_) {
    r.len = 0;
    r.cache.reset();
    r.gates.clear();
    r.soft.clear();
    r.filled.assign(size_t(c.n_layers), 0);
    r.sums.assign(size_t(c.n_layers) * size_t(c.hidden), 0.0);
    r.steps.clear();
    r.n = 0;
    r.logits_n = 0;
  }
}

int RoutedBatch::blocks_run(int row) const {
  const auto& g = rows_[size_t(row)].gates;
  return int(std::count(g.begin(), g.end(), 1));
}

std::span<const float> RoutedBatch::logits(int row) const {
  const Row& r = rows_.at(size_t(row));
  return {logits_.data() + r.logits_off, r.logits_n};
}

void RoutedBatch::prefill(std::span<const std::span<const int>> ids, bool all_positions) {
  forward(ids, /*decide=*/true, all_positions);
}

void RoutedBatch::decode(std::span<const int> ids) {
  LR_CHECK(ids.size() == rows_.size(), "decode: ", ids.size(), " tokens for ", rows_.size(),
           " rows");
  one_.resize(ids.size());
  for (size_t r = 0; r < ids.size(); ++r) one_[r] = ids.subspan(r, 1);
  forward(one_, /*decide=*/false, /*all_positions=*/false);
}

void RoutedBatch::decide_gate(Row& r, int l, const float* h) {
  const int H = model_.config.hidden;
  bool open = true;
  float soft = 1.f;
  if (r.spec.mode == GateMode::Mask) {
    open = r.spec.mask_opens(l);
    soft = open ? 1.f : 0.f;
  } else if (r.spec.mode == GateMode::Router && router_) {
    // The running sum makes the sequence-so-far pool O(H) per block, not a re-read.
    const float* w = router_->w.data() + size_t(l) * H;
    double z = 0;
    if (opt_.settings.pool == RoutePool::Sequence) {
      const double* s = r.sums.data() + size_t(l) * H;
      for (int i = 0; i < H; ++i) z += double(w[i]) * s[i];
      z /= double(r.len + r.n);
    } else {
      for (int t = 0; t < r.n; ++t)
        for (int i = 0; i < H; ++i) z += double(w[i]) * h[size_t(t) * H + i];
      z /= double(r.n);
    }
    z += router_->b[size_t(l)];
    soft = float(1.0 / (1.0 + std::exp(-z)));
    open = soft > opt_.settings.threshold;
  }
  r.gates[size_t(l)] = open;
  r.soft[size_t(l)] = soft;
}

template <typename Fn>
void RoutedBatch::in_chunks(float* buf, const std::vector<Piece>& pieces, Fn fn) {
  const size_t H = size_t(model_.config.hidden);
  const int C = engine_.max_chunk();
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
      segs_.push_back(KVSegment{&rows_[size_t(p.row)].cache, p.positions + done, take});
      used += take;
      done += take;
    }
  }
  if (used) fn(buf + size_t(start) * H, std::span<const KVSegment>(segs_));
}

void RoutedBatch::backfill(int l, const std::vector<int>& open) {
  const size_t H = size_t(model_.config.hidden);
  size_t M = 0;
  for (int ri : open) M += size_t(rows_[size_t(ri)].len - rows_[size_t(ri)].filled[size_t(l)]);
  if (M == 0) return;
  if (bf_.size() < M * H) bf_.resize(M * H);
  if (bf_pos_.size() < M) bf_pos_.resize(M);
  pieces_.clear();
  int g = 0;
  for (int ri : open) {
    Row& r = rows_[size_t(ri)];
    const int a = r.filled[size_t(l)], b = r.len;
    if (a >= b) continue;
    pieces_.push_back(Piece{ri, g, b - a, bf_pos_.data() + g});
    // Steps are sorted by p0: find the one holding position a, then walk forward.
    auto st = std::upper_bound(r.steps.begin(), r.steps.end(), a,
                               [](int p, const Step& s) { return p < s.p0; }) -
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
            [&](float* h, std::span<const KVSegment> s) { engine_.fill_kv(l, h, s); });
  counters_.backfill_rows[size_t(l)] += int64_t(M);
}

void RoutedBatch::forward(std::span<const std::span<const int>> ids, bool decide,
                          bool all_positions) {
  const ModelConfig& c = model_.config;
  const int L = c.n_layers, V = c.vocab;
  const size_t H = size_t(c.hidden);
  LR_CHECK(ids.size() == rows_.size(), "routed batch: ", ids.size(), " inputs for ", rows_.size(),
           " rows");
  part_.clear();
  int N = 0;
  for (size_t ri = 0; ri < rows_.size(); ++ri) {
    Row& r = rows_[ri];
    r.n = int(ids[ri].size());
    r.logits_n = 0;
    if (r.n == 0) continue;
    LR_CHECK(r.len + r.n <= r.cache.max_T(), "context full: ", r.len, " + ", r.n, " tokens > max ",
             r.cache.max_T(), " (row ", ri, ")");
    LR_CHECK(decide || !r.steps.empty(), "decode before any prefill (row ", ri, ")");
    r.off = N;
    N += r.n;
    part_.push_back(int(ri));
  }
  if (N == 0) return;
  if (h_.size() < size_t(N) * H) h_.resize(size_t(N) * H);
  if (gather_.size() < size_t(N) * H) gather_.resize(size_t(N) * H);
  if (pos_.size() < size_t(N)) pos_.resize(size_t(N));
  for (int ri : part_) {
    Row& r = rows_[size_t(ri)];
    engine_.embed(ids[size_t(ri)].data(), r.n, h_.data() + size_t(r.off) * H);
    for (int t = 0; t < r.n; ++t) pos_[size_t(r.off + t)] = r.len + t;
    if (decide) {
      r.steps.push_back(Step{r.len, r.len + r.n, std::vector<int>(size_t(L), -1), {}});
      r.gates.assign(size_t(L), 0);
      r.soft.assign(size_t(L), 0.f);
    } else {
      r.steps.back().p1 += r.n;
    }
  }

  std::vector<int>& open = open_;
  for (int l = 0; l < L; ++l) {
    open.clear();
    for (int ri : part_) {
      Row& r = rows_[size_t(ri)];
      const float* h = h_.data() + size_t(r.off) * H;
      double* s = r.sums.data() + size_t(l) * H;
      for (int t = 0; t < r.n; ++t)
        for (size_t i = 0; i < H; ++i) s[i] += h[size_t(t) * H + i];
      if (decide) decide_gate(r, l, h);
      if (r.gates[size_t(l)]) {
        open.push_back(ri);
        continue;
      }
      // Skipped: identity. Keep the state entering the run of skipped blocks for backfill.
      Step& st = r.steps.back();
      const bool run_start = l == 0 || r.gates[size_t(l - 1)];
      if (decide) {
        if (run_start) {
          st.run_of_block[size_t(l)] = int(st.run_states.size());
          st.run_states.emplace_back();
        } else {
          st.run_of_block[size_t(l)] = st.run_of_block[size_t(l - 1)];
        }
      }
      if (run_start) {
        auto& v = st.run_states[size_t(st.run_of_block[size_t(l)])];
        v.insert(v.end(), h, h + size_t(r.n) * H);
      }
    }
    if (open.empty()) continue;
    backfill(l, open);
    // Gather the open rows (unless all are open: then they already lie contiguous).
    const bool all_open = open.size() == part_.size();
    float* buf = all_open ? h_.data() : gather_.data();
    pieces_.clear();
    int g = 0;
    for (int ri : open) {
      const Row& r = rows_[size_t(ri)];
      pieces_.push_back(Piece{ri, all_open ? r.off : g, r.n, pos_.data() + r.off});
      if (!all_open)
        std::memcpy(gather_.data() + size_t(g) * H, h_.data() + size_t(r.off) * H,
                    sizeof(float) * H * size_t(r.n));
      g += r.n;
    }
    in_chunks(buf, pieces_,
              [&](float* h, std::span<const KVSegment> s) { engine_.run_block(l, h, s); });
    for (const Piece& p : pieces_) {
      Row& r = rows_[size_t(p.row)];
      if (!all_open)
        std::memcpy(h_.data() + size_t(r.off) * H, gather_.data() + size_t(p.buf_off) * H,
                    sizeof(float) * H * size_t(r.n));
      r.filled[size_t(l)] = r.len + r.n;
      counters_.block_rows[size_t(l)] += r.n;
    }
  }

  // Logits: every new row, or only each row's last one (the LM head is the biggest matrix).
  const int C = engine_.max_chunk();
  const float* src = h_.data();
  int M = N;
  if (!all_positions) {
    M = int(part_.size());
    if (last_.size() < size_t(M) * H) last_.resize(size_t(M) * H);
    for (int i = 0; i < M; ++i) {
      const Row& r = rows_[size_t(part_[size_t(i)])];
      std::memcpy(last_.data() + size_t(i) * H, h_.data() + size_t(r.off + r.n - 1) * H,
                  sizeof(float) * H);
    }
    src = last_.data();
  }
  if (logits_.size() < size_t(M) * V) logits_.resize(size_t(M) * V);
  for (int o = 0; o < M; o += C)
    engine_.final_logits(src + size_t(o) * H, std::min(C, M - o), logits_.data() + size_t(o) * V);
  for (size_t i = 0; i < part_.size(); ++i) {
    Row& r = rows_[size_t(part_[i])];
    r.logits_off = all_positions ? size_t(r.off) * V : i * size_t(V);
    r.logits_n = all_positions ? size_t(r.n) * V : size_t(V);
    r.len += r.n;
    r.cache.len = r.len;
  }
}

}  // namespace lr
