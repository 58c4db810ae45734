#pragma once
// Incremental parser for the tool calls Qwen2.5 writes:
//   <tool_call>\n{"name": ..., "arguments": {...}}\n</tool_call>
// Text is fed as it is decoded (any split, down to single bytes); what comes out is
// content text and whole calls, in order. Tag text never reaches the content: a partial
// "<tool_call>" at the end of the input is held back until the next push shows whether it
// is one. Inside a block the closing tag only counts outside JSON strings, so arguments
// may contain "</tool_call>". A block that is not a call (invalid JSON, no string "name")
// comes out as content, tags included, and is counted.
#include <string>
#include <string_view>
#include <vector>

namespace lr::serve {

struct ParsedCall {
  std::string name;
  std::string arguments;  // JSON text of the arguments object, as Python's json.dumps writes it
};

struct ParseEvent {
  enum class Kind { Content, Call } kind = Kind::Content;
  std::string text;  // Content
  ParsedCall call;   // Call
};

class ToolCallParser {
 public:
  inline static constexpr std::string_view kOpen = "<tool_call>";
  inline static constexpr std::string_view kClose = "</tool_call>";

  std::vector<ParseEvent> push(std::string_view text);
  // End of generation: held-back text is content; a block left open is a call when its
  // body is a whole call object (the model stopped before the closing tag), else content.
  std::vector<ParseEvent> finish();
  int invalid_blocks() const { return invalid_; }
  int calls() const { return calls_; }

 private:
  void scan(std::vector<ParseEvent>& out);
  void close_block(std::string_view body, std::vector<ParseEvent>& out, bool closed);

  bool in_block_ = false;
  std::string buf_;  // Text: unsent text; Block: the block body so far
  size_t scan_ = 0;  // Block: bytes of buf_ already scanned for the closing tag
  bool in_str_ = false, esc_ = false;
  int invalid_ = 0, calls_ = 0;
};

// Whole-text form: content (events joined) and the calls.
struct ParsedReply {
  std::string content;
  std::vector<ParsedCall> calls;
  int invalid_blocks = 0;
};
ParsedReply parse_tool_calls(std::string_view text);

// Appends a Content event, merging with a Content event just before it.
void append_content(std::vector<ParseEvent>& out, std::string_view text);

}  // namespace lr::serve
