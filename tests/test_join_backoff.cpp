// The pool's serial back-off policy (core/join_backoff.h): isolated slow joins (a VM
// preempting a vCPU now and then) cost nothing beyond themselves; recurring ones (an
// oversubscribed machine) make the next calls serial.
#include <gtest/gtest.h>

#include "core/join_backoff.h"

namespace lr {
namespace {

int serial_calls(JoinBackoff& b, int calls) {
  int n = 0;
  for (int i = 0; i < calls; ++i) n += b.take_serial();
  return n;
}

TEST(JoinBackoff, FastJoinsNeverGoSerial) {
  JoinBackoff b;
  for (int i = 0; i < 10000; ++i) {
    EXPECT_FALSE(b.take_serial());
    b.after_join(false);
  }
}

TEST(JoinBackoff, IsolatedSlowJoinsDoNotBackOff) {
  JoinBackoff b;
  for (int event = 0; event < 20; ++event) {
    for (int i = 0; i < JoinBackoff::kRecurWithin; ++i) b.after_join(false);
    b.after_join(true);
    EXPECT_EQ(b.serial_left(), 0) << "slow join " << event;
  }
  EXPECT_EQ(serial_calls(b, 100), 0);
}

TEST(JoinBackoff, RecurringSlowJoinsGoSerialForAWhile) {
  JoinBackoff b;
  b.after_join(true);
  EXPECT_EQ(b.serial_left(), 0);  // the first one alone is not enough
  for (int i = 0; i < JoinBackoff::kRecurWithin - 2; ++i) b.after_join(false);
  b.after_join(true);  // kRecurWithin - 1 joins after the first: recurring
  EXPECT_EQ(serial_calls(b, 5000), JoinBackoff::kSerialCalls);
  EXPECT_FALSE(b.take_serial());
}

TEST(JoinBackoff, OneSlowJoinAfterTheSerialStretchBacksOffAgain) {
  // Serial calls do not join, so they do not age the last slow join: still oversubscribed
  // after the stretch, the first slow join sends the pool back to serial at once.
  JoinBackoff b;
  b.after_join(true);
  b.after_join(true);
  EXPECT_EQ(serial_calls(b, 5000), JoinBackoff::kSerialCalls);
  b.after_join(true);
  EXPECT_EQ(b.serial_left(), JoinBackoff::kSerialCalls);
}

TEST(JoinBackoff, GapJustPastTheWindowIsIsolated) {
  JoinBackoff b;
  b.after_join(true);
  for (int i = 0; i < JoinBackoff::kRecurWithin - 1; ++i) b.after_join(false);
  b.after_join(true);  // the kRecurWithin-th join after the first
  EXPECT_EQ(b.serial_left(), 0);
}

}  // namespace
}  // namespace lr
