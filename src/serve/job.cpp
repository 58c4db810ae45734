#include "serve/job.h"

namespace lr::serve {

bool Job::wait(std::vector<int>& into, std::chrono::milliseconds timeout) {
  std::unique_lock lk(mu_);
  cv_.wait_for(lk, timeout, [&] { return done_ || out_.size() > taken_; });
  into.insert(into.end(), out_.begin() + long(taken_), out_.end());
  taken_ = out_.size();
  return done_ && taken_ == out_.size();
}

bool Job::done() const {
  std::lock_guard lk(mu_);
  return done_;
}

std::string Job::finish_reason() const {
  std::lock_guard lk(mu_);
  return finish_;
}

Job::Stats Job::stats() const {
  std::lock_guard lk(mu_);
  return stats_;
}

void Job::set_stats(const Stats& s) {
  std::lock_guard lk(mu_);
  stats_ = s;
}

void Job::push(int id) {
  {
    std::lock_guard lk(mu_);
    out_.push_back(id);
  }
  cv_.notify_all();
}

void Job::finish(const std::string& reason) {
  {
    std::lock_guard lk(mu_);
    if (done_) return;
    done_ = true;
    finish_ = reason;
  }
  cv_.notify_all();
}

}  // namespace lr::serve
