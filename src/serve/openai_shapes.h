#pragma once
// The JSON objects of OpenAI's API that the server returns: chat completions and their
// stream chunks, text completions and theirs, the model list, usage, and the extra
// "layerroute" object that says which blocks ran for the request.
#include <cstdint>
#include <string>
#include <vector>

#include "io/json.h"

namespace lr::serve {

struct ToolCallOut {
  std::string id;  // "call_..."
  std::string name, arguments;
};

struct Usage {
  int prompt_tokens = 0, completion_tokens = 0, cached_tokens = 0;
  Json json() const;
};

// The request's step: gates fixed at its prefill, held while it decodes.
struct RouteInfo {
  int blocks_run = 0, blocks = 0;
  std::string gates;  // "1101..."
  double skip_pct = 0, predicted_saving_pct = 0;
  Json json() const;
};

// Fields every response and chunk of one request shares.
struct ResponseHead {
  std::string id;  // "chatcmpl-..." / "cmpl-..."
  int64_t created = 0;
  std::string model;
};

// finish_reason: "stop" | "length" | "tool_calls". content null when empty and calls made.
Json chat_completion(const ResponseHead& h, const std::string& content,
                     const std::vector<ToolCallOut>& calls, const std::string& finish,
                     const Usage& u, const RouteInfo& r);
// One chunk with one choice; finish "" is null.
Json chat_chunk(const ResponseHead& h, const Json& delta, const std::string& finish);
// The usage chunk of stream_options.include_usage: no choices.
Json usage_chunk(const ResponseHead& h, const char* object, const Usage& u, const RouteInfo& r);
Json text_completion(const ResponseHead& h, const std::string& text, const std::string& finish,
                     const Usage& u, const RouteInfo& r);
Json text_chunk(const ResponseHead& h, const std::string& text, const std::string& finish);
Json model_list(const std::string& model, int64_t created);

// Deltas of OpenAI's incremental tool calls: the first carries id, type and name with empty
// arguments, the second the arguments.
Json tool_call_start_delta(int index, const ToolCallOut& c);
Json tool_call_args_delta(int index, const std::string& arguments);

// Compact JSON text; invalid UTF-8 becomes U+FFFD.
std::string json_text(const Json& j);
// "data: JSON\n\n".
std::string sse_event(const Json& j);
inline constexpr const char* kSseDone = "data: [DONE]\n\n";

}  // namespace lr::serve
