#pragma once
// The kind of agent step a sample is (DESIGN §4): what datasets label their samples with
// and what training and evaluation group by.

namespace lr {

enum class StepLabel : int { ToolCall = 0, Planning = 1 };

inline const char* step_label_name(StepLabel l) {  // "tool_call" / "planning"
  return l == StepLabel::ToolCall ? "tool_call" : "planning";
}

}  // namespace lr
