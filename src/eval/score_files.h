#pragma once
// `layerroute score` as a library call: predictions JSONL ({"text": ...} a line) against
// references JSONL (one a line: {"tool_calls": [...]} or {"answer": "..."}), scored with
// task_metrics. Rows are the non-blank lines, paired in order; a malformed row on either
// side is reported and leaves its pair out, never fatal.
#include <functional>
#include <string>

#include "io/json.h"

namespace lr::eval {

enum class ScoreTask { ToolCall, Gsm8k };
ScoreTask parse_score_task(const std::string& s);  // "tool_call" | "gsm8k"; throws otherwise

// One JSON object: the task's metrics (task_metrics.h) plus "task", "rows", "malformed_pred"
// and "malformed_ref". `warn` gets one "FILE:ROW: why" line per malformed row. A missing
// file or different row counts throw lr::Error.
// gsm8k predictions may carry "ended": true|false or OpenAI's "finish_reason" ("stop" =
// ended); without either, "ended" is null.
Json score_files(ScoreTask task, const std::string& pred_path, const std::string& ref_path,
                 const std::function<void(const std::string&)>& warn);

}  // namespace lr::eval
