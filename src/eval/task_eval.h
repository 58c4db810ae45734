#pragma once
// Task metrics by generation (DESIGN §3 "Quality under skipping"): for each selected sample
// the model answers its first assistant turn greedily with the KV cache, one step gated as
// `generate` gates it, and the output is scored with task_metrics (the definitions of
// `layerroute score`). Configurations: base (no LoRA, every block), lora_all (LoRA, every
// block) and lora_routed (LoRA + the eval's gates), each where it differs from the others.
// Kept free of training headers: it runs the inference engine.
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "eval/task_metrics.h"
#include "io/json.h"
#include "layerroute/gates.h"
#include "layerroute/routed_session.h"
#include "text/dataset.h"

namespace lr::eval {

enum class TaskKind { ToolCall, Gsm8k };
const char* task_kind_name(TaskKind k);  // "tool_call" / "gsm8k"

// One sample's task: the messages before its first assistant turn, and that turn's
// reference. Tool-call steps: the turn's tool calls (none = a turn that should not call).
// Planning steps: the number after "####" in the turn's content.
struct TaskItem {
  std::string origin;
  TaskKind kind = TaskKind::ToolCall;
  Json prompt_messages, tools;
  std::vector<ToolCall> ref_calls;  // ToolCall
  Decimal ref_answer;               // Gsm8k
  Json ref_row;                     // the reference as a `score --ref` row
  std::vector<int> prompt_ids;      // filled by tokenize_task_items
};

// nullopt when the sample has no reference: a planning step without "####" in its first
// assistant turn, or no assistant turn.
std::optional<TaskItem> task_item(const Sample& s);
// The first max_per_kind items of each kind (0 = all), in data order.
std::vector<TaskItem> select_task_items(const std::vector<Sample>& samples,
                                        const std::vector<std::string>& origins,
                                        size_t max_per_kind);

struct GreedyOutput {
  std::vector<int> ids;  // generated, the stop token excluded
  bool ended = false;    // stopped on a stop id within the budget
  int blocks_run = 0;    // of the step (the prompt's gates, kept while decoding)
};
// One step: prefill the prompt (gates decided), then greedy decoding under those gates.
GreedyOutput generate_greedy(RoutedSession& s, std::span<const int> prompt, int max_new,
                             const std::vector<int>& stop_ids);

struct TaskOutput {
  std::string text;
  bool ended = false;
  int new_tokens = 0, blocks_run = 0;
};

struct TaskConfigResult {
  std::string name;   // base | lora_all | lora_routed
  std::string gates;  // open | router | mask:BITS
  bool lora = false;
  ToolCallMetrics tool;
  Gsm8kMetrics gsm8k;
  // Per kind (index TaskKind): mean blocks run and mean generated tokens; NaN when none.
  double mean_blocks_run[2] = {0, 0}, mean_new_tokens[2] = {0, 0};
  std::vector<TaskOutput> outputs;  // one per item
};

struct TaskResults {
  bool measured = false;
  std::string note = "not measured";
  int max_new_tokens = 0, n_layers = 0;
  std::vector<TaskItem> items;
  std::vector<TaskConfigResult> configs;
};

struct TaskSetup {
  std::string model_dir;
  std::string adapters_dir;  // "": the base model alone
  GateSpec gates;            // of lora_routed: router | open | mask:BITS
  bool no_lora = false;      // leave the adapters' LoRA out (lora_all is then not run)
  int max_new_tokens = 256;
  bool gated_only = false;  // only lora_routed (the matched-compute baselines)
  RouteDial dial;           // threshold / logit offset over the adapters' settings
  std::function<void(const std::string&)> progress;
};

// Tokenizes the items' prompts with the model's template (generation prompt added).
// Loads the model, generates for every item under each configuration and scores.
TaskResults run_task_metrics(const TaskSetup& setup, std::vector<TaskItem> items);

// Scores outputs (one per item) into a configuration's metrics.
void score_task_outputs(const std::vector<TaskItem>& items, TaskConfigResult* r);

// The configuration's metrics as JSON: tool_call and gsm8k objects (task_metrics.h fields)
// plus mean blocks run and generated tokens.
Json task_config_json(const TaskConfigResult& r);

}  // namespace lr::eval
