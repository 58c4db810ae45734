#pragma once
// Turns the text a request generates into what the client sees: stop strings applied,
// tool calls parsed out (chat with tools), as OpenAI deltas for streaming and as the whole
// message at the end. Whitespace-only content between or around calls is held and dropped
// when the turn makes calls, so a pure tool-call turn has null content.
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "io/json.h"
#include "serve/openai_shapes.h"
#include "serve/stop_strings.h"
#include "serve/tool_call_parser.h"

namespace lr::serve {

class ReplyStream {
 public:
  // parse_tools: chat with tools offered; prefix: forced tool-call text already in the
  // prompt (fed to the parser first, never shown); new_id makes "call_..." ids.
  ReplyStream(std::vector<std::string> stops, bool parse_tools, const std::string& prefix,
              std::function<std::string()> new_id);

  // Deltas for chat chunks ({"content"} or {"tool_calls"}), in order.
  std::vector<Json> push(std::string_view text);
  std::vector<Json> finish();
  bool stopped() const { return stop_.stopped(); }  // a stop string ended the reply

  const std::string& content() const { return content_; }
  const std::vector<ToolCallOut>& calls() const { return calls_; }
  int invalid_blocks() const { return parser_.invalid_blocks(); }

 private:
  void take(std::vector<ParseEvent> events, std::vector<Json>& out, bool last);
  void emit_content(std::string text, std::vector<Json>& out);

  StopStrings stop_;
  bool parse_tools_;
  ToolCallParser parser_;
  std::function<std::string()> new_id_;
  std::string content_, pending_ws_;
  std::vector<ToolCallOut> calls_;
};

}  // namespace lr::serve
