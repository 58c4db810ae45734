#include "serve/scheduler.h"

#include <algorithm>

#include "core/timer.h"

namespace lr::serve {

namespace {
double ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}
}  // namespace

Scheduler::Scheduler(const Model& model, const RouterWeights* router, const LowRankDeltas* lora,
                     RouteOptions route, EngineOptions opt)
    : model_(model),
      route_(route),
      opt_(std::move(opt)),
      batch_(model, router, route, opt_.parallel, opt_.ctx),
      slots_(size_t(opt_.parallel)) {
  batch_.set_lora(lora);
  stats_.block_open.assign(size_t(model.config.n_layers), 0);
  thread_ = std::thread([this] { loop(); });
}

Scheduler::~Scheduler() {
  stop();
}

bool Scheduler::submit(std::shared_ptr<Job> job) {
  {
    std::lock_guard lk(mu_);
    if (stop_) {
      job->finish("cancelled");
      return true;
    }
    if (int(queue_.size()) >= opt_.queue) return false;
    queue_.push_back(std::move(job));
  }
  cv_.notify_all();
  return true;
}

void Scheduler::cancel_all() {
  {
    std::lock_guard lk(mu_);
    cancel_all_ = true;
  }
  cv_.notify_all();
}

void Scheduler::stop() {
  {
    std::lock_guard lk(mu_);
    if (stop_ && !thread_.joinable()) return;
    stop_ = cancel_all_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

EngineStats Scheduler::stats() const {
  std::lock_guard lk(mu_);
  return stats_;
}

int Scheduler::pick_slot(const std::vector<int>& ids) const {
  int best = -1, empty = -1, lru = -1;
  size_t best_len = 0;
  for (int s = 0; s < int(slots_.size()); ++s) {
    const Slot& sl = slots_[size_t(s)];
    if (sl.job) continue;
    const std::vector<int>& t = sl.tokens;
    if (t.empty()) {
      if (empty < 0) empty = s;
    } else if (t.size() < ids.size() && std::equal(t.begin(), t.end(), ids.begin()) &&
               t.size() > best_len) {
      best = s;
      best_len = t.size();
    }
    if (lru < 0 || sl.last_used < slots_[size_t(lru)].last_used) lru = s;
  }
  return best >= 0 ? best : empty >= 0 ? empty : lru;
}

void Scheduler::end(int s, const std::string& reason) {
  Slot& sl = slots_[size_t(s)];
  if (sl.prefilling) {
    // A step cut off before its end leaves nothing worth keeping.
    batch_.reset(s);
    sl.tokens.clear();
    sl.prefilling = false;
  }
  sl.stats.decode_ms = ms_since(sl.t_first);
  sl.job->set_stats(sl.stats);
  sl.job->finish(reason);
  sl.job.reset();
  sl.sampler.reset();
  sl.pending = -1;
  sl.last_used = ++tick_;
}

// A sampled token: handed to the client unless it ends the reply, then fed next
// iteration unless a limit is reached (the same order as `layerroute generate`).
void Scheduler::take_token(int s, int id) {
  Slot& sl = slots_[size_t(s)];
  ++sl.generated;
  if (is_stop(opt_.stop_ids, id)) return end(s, "stop");
  sl.job->push(id);
  if (sl.generated == sl.job->max_tokens) return end(s, "length");
  if (int(sl.tokens.size()) >= opt_.ctx) return end(s, "length");
  sl.pending = id;
}

void Scheduler::loop() {
  std::vector<int> admitted;
  for (;;) {
    admitted.clear();
    bool cancel_everything = false;
    {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [&] {
        if (stop_ || cancel_all_ || !queue_.empty()) return true;
        for (const Slot& sl : slots_)
          if (sl.job) return true;
        return false;
      });
      cancel_everything = cancel_all_;
      cancel_all_ = false;
      if (cancel_everything) {
        for (auto& j : queue_) j->finish("cancelled");
        queue_.clear();
      }
      while (!queue_.empty()) {
        if (queue_.front()->cancelled()) {
          queue_.front()->finish("cancelled");
          queue_.pop_front();
          continue;
        }
        const int s = pick_slot(queue_.front()->ids);
        if (s < 0) break;
        Slot& sl = slots_[size_t(s)];
        sl.job = std::move(queue_.front());
        queue_.pop_front();
        admitted.push_back(s);
      }
    }
    for (int s = 0; s < int(slots_.size()); ++s)
      if (slots_[size_t(s)].job && (cancel_everything || slots_[size_t(s)].job->cancelled()))
        end(s, "cancelled");
    {
      std::lock_guard lk(mu_);
      if (stop_) break;
    }
    std::erase_if(admitted, [&](int s) { return !slots_[size_t(s)].job; });
    if (!admitted.empty()) admit(admitted);
    if (batch_.prefill_pending()) prefill_some();
    decode_all();
    std::lock_guard lk(mu_);
    stats_.queued = int(queue_.size());
    stats_.active = 0;
    for (const Slot& sl : slots_) stats_.active += sl.job != nullptr;
  }
  // Stopping: nothing is left waiting.
  std::lock_guard lk(mu_);
  for (auto& j : queue_) j->finish("cancelled");
  queue_.clear();
  for (int s = 0; s < int(slots_.size()); ++s)
    if (slots_[size_t(s)].job) end(s, "cancelled");
}

// The admitted rows start one step together: each over its prompt's tokens beyond what
// the slot already caches (all of them when it does not extend the cache).
void Scheduler::admit(const std::vector<int>& admitted) {
  std::vector<std::span<const int>> spans(slots_.size());
  for (int s : admitted) {
    Slot& sl = slots_[size_t(s)];
    const Job& j = *sl.job;
    const bool extends = sl.tokens.size() < j.ids.size() &&
                         std::equal(sl.tokens.begin(), sl.tokens.end(), j.ids.begin());
    if (!extends) {
      batch_.reset(s);
      sl.tokens.clear();
    }
    batch_.set_gates(s, j.gates ? *j.gates : route_.gates);
    sl.stats = Job::Stats();
    sl.stats.slot = s;
    sl.stats.cached_tokens = int(sl.tokens.size());
    sl.stats.prefill_tokens = int(j.ids.size() - sl.tokens.size());
    sl.stats.queue_ms = ms_since(j.submitted);
    spans[size_t(s)] = std::span<const int>(j.ids).subspan(sl.tokens.size());
    sl.tokens = j.ids;
    sl.sampler.emplace(j.sampler);
    sl.generated = 0;
    sl.pending = -1;
    sl.prefilling = true;
    sl.t_admit = std::chrono::steady_clock::now();
  }
  try {
    batch_.begin_prefill(spans);
  } catch (const std::exception& e) {
    for (int s : admitted) end(s, std::string("error: ") + e.what());
  }
}

// One chunk of prefill work; each step that completes samples its first token.
void Scheduler::prefill_some() {
  const int V = model_.config.vocab, L = model_.config.n_layers;
  std::vector<int> done;
  try {
    const auto d = batch_.advance_prefill(int64_t(opt_.prefill_chunk) * L);
    done.assign(d.begin(), d.end());
  } catch (const std::exception& e) {
    for (int s = 0; s < int(slots_.size()); ++s)
      if (slots_[size_t(s)].prefilling) end(s, std::string("error: ") + e.what());
    return;
  }
  for (Slot& sl : slots_)
    if (sl.prefilling) ++sl.stats.prefill_chunks;
  {
    std::lock_guard lk(mu_);
    for (int s : done) {
      Slot& sl = slots_[size_t(s)];
      sl.prefilling = false;
      sl.stats.prefill_ms = ms_since(sl.t_admit);
      sl.stats.gates = batch_.gates(s);
      sl.stats.blocks_run = batch_.blocks_run(s);
      ++stats_.steps;
      for (int l = 0; l < L; ++l) stats_.block_open[size_t(l)] += sl.stats.gates[size_t(l)];
    }
  }
  for (int s : done) {
    Slot& sl = slots_[size_t(s)];
    sl.job->set_stats(sl.stats);
    sl.t_first = std::chrono::steady_clock::now();
    take_token(s, sl.sampler->sample(batch_.logits(s).data(), V));
  }
}

// One decode iteration over every row with a token to feed.
void Scheduler::decode_all() {
  const int V = model_.config.vocab;
  std::vector<int> rows, toks;
  for (int s = 0; s < int(slots_.size()); ++s)
    if (slots_[size_t(s)].job && slots_[size_t(s)].pending >= 0) {
      rows.push_back(s);
      toks.push_back(slots_[size_t(s)].pending);
    }
  if (rows.empty()) return;
  Timer t;
  batch_.decode(rows, toks);
  const double dt = t.seconds();
  {
    std::lock_guard lk(mu_);
    stats_.decode_tokens += int64_t(rows.size());
    stats_.decode_s += dt;
  }
  for (size_t i = 0; i < rows.size(); ++i) {
    Slot& sl = slots_[size_t(rows[i])];
    sl.tokens.push_back(sl.pending);
    sl.pending = -1;
    take_token(rows[i], sl.sampler->sample(batch_.logits(rows[i]).data(), V));
  }
}

}  // namespace lr::serve
