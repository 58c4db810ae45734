#pragma once
// Synthetic agentic traces for the demo, written in the real datasets' formats so the same
// loaders read them: tool-call steps as Hermes function-calling v1 JSON (system prompt
// with <tools>, <tool_call> JSON, <tool_response>, a short answer) and planning steps as
// GSM8K JSONL (multi-step arithmetic with <<a*b=c>> annotations and "#### n").
#include <cstdint>
#include <string>

namespace lr {

struct SynthCounts {
  int tool_calls = 0, planning = 0;
};

// Writes DIR/PREFIX_tool_calls.json and DIR/PREFIX_planning.jsonl (atomically);
// the same seed gives the same bytes.
SynthCounts write_synth_traces(const std::string& dir, const std::string& prefix, int n_tool,
                               int n_plan, uint64_t seed);

std::string synth_tool_path(const std::string& dir, const std::string& prefix);
std::string synth_planning_path(const std::string& dir, const std::string& prefix);

}  // namespace lr
