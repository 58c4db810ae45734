#pragma once
// When the pool stops waking its workers for a while. A join that waits past ~0.5 ms for a
// worker means that worker lost its core in the middle of its share. On an oversubscribed
// machine (ctest -j on 2 cores) that recurs every few calls and every call pays a
// scheduler period: one thread beats two, so run serially for a while. On a VM whose
// hypervisor preempts a vCPU now and then, an isolated slow join costs only its own wait,
// while 1024 serial calls cost several tokens at one thread's speed. So: back off only when
// slow joins recur.
namespace lr {

class JoinBackoff {
 public:
  // Serial calls after a recurring slow join, and how close (in parallel joins) the
  // previous slow join must be for this one to count as recurring.
  static constexpr int kSerialCalls = 1024;
  static constexpr int kRecurWithin = 64;

  // Whether the next call should run on the caller alone (consumes one serial call).
  bool take_serial() {
    if (serial_left_ == 0) return false;
    --serial_left_;
    return true;
  }

  // After each parallel join; slow: it waited past the threshold for a worker.
  void after_join(bool slow) {
    if (joins_since_slow_ < kRecurWithin) ++joins_since_slow_;
    if (!slow) return;
    if (joins_since_slow_ < kRecurWithin) serial_left_ = kSerialCalls;
    joins_since_slow_ = 0;
  }

  int serial_left() const { return serial_left_; }

 private:
  int serial_left_ = 0;
  int joins_since_slow_ = kRecurWithin;  // no slow join seen yet
};

}  // namespace lr
