#pragma once
// Request bodies of /v1/chat/completions and /v1/completions, checked field by field into
// what the scheduler needs. Every rejection is an ApiError (400) naming the field.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "io/json.h"
#include "layerroute/gates.h"
#include "model/sampler.h"
#include "text/chat_template.h"

namespace lr::serve {

enum class ToolChoice { Auto, None, Required, Function };

struct GenRequest {
  bool chat = true;  // chat.completions, else completions
  std::string model;
  Json messages;  // chat: as the template takes them (arguments strings parsed to objects)
  Json tools;     // chat: null or an array
  ToolChoice tool_choice = ToolChoice::Auto;
  std::string tool_name;  // ToolChoice::Function
  std::string prompt;     // completions
  int max_tokens = -1;    // -1: until the context is full
  SamplerConfig sampler;
  bool seeded = false;  // seed given (else the server draws one)
  std::vector<std::string> stop;
  bool stream = false, include_usage = false;
  std::optional<GateSpec> gates;  // the "layerroute": {"gates": ...} override
  std::string user;
  std::vector<std::string> warnings;  // fields accepted but not honoured
  // Tool calls are parsed out of the reply (chat with tools and tool_choice != none).
  bool parse_tools() const { return chat && !tools.is_null() && tool_choice != ToolChoice::None; }
};

// Malformed JSON or a non-object: 400.
Json parse_body(std::string_view text);
// n_layers checks a "mask:BITS" override.
GenRequest parse_chat_request(const Json& body, int n_layers);
GenRequest parse_completion_request(const Json& body, int n_layers);

// The prompt text for the model: the rendered chat (without tools for tool_choice none)
// followed by forced_prefix, or the completion prompt. Template errors are 400s.
std::string prompt_text(const GenRequest& r, const ChatTemplate& tmpl);
// tool_choice required: "<tool_call>\n{\"name\": \""; a named function: the same with the
// name and "\", \"arguments\": " (the model writes the arguments); else "". The prefix is
// prompt, not reply: the tool-call parser is fed it before the first generated token.
std::string forced_prefix(const GenRequest& r);

}  // namespace lr::serve
