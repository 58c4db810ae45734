#include "serve/reply_stream.h"

namespace lr::serve {

namespace {
bool all_space(std::string_view s) {
  return s.find_first_not_of(" \t\r\n") == std::string::npos;
}
}  // namespace

ReplyStream::ReplyStream(std::vector<std::string> stops, bool parse_tools,
                         const std::string& prefix, std::function<std::string()> new_id)
    : stop_(std::move(stops)), parse_tools_(parse_tools), new_id_(std::move(new_id)) {
  if (parse_tools_ && !prefix.empty()) (void)parser_.push(prefix);  // opens a block: no events
}

void ReplyStream::emit_content(std::string text, std::vector<Json>& out) {
  if (text.empty()) return;
  content_ += text;
  if (!out.empty() && out.back().contains("content")) {
    out.back()["content"] = out.back()["content"].get<std::string>() + text;
    return;
  }
  out.push_back(Json{{"content", std::move(text)}});
}

void ReplyStream::take(std::vector<ParseEvent> events, std::vector<Json>& out, bool last) {
  for (ParseEvent& e : events) {
    if (e.kind == ParseEvent::Kind::Content) {
      if (!parse_tools_) {
        emit_content(std::move(e.text), out);
        continue;
      }
      pending_ws_ += e.text;
      if (!all_space(pending_ws_)) {
        emit_content(std::move(pending_ws_), out);
        pending_ws_.clear();
      }
      continue;
    }
    pending_ws_.clear();  // whitespace next to a call is layout, not content
    ToolCallOut c{new_id_(), e.call.name, e.call.arguments};
    const int index = int(calls_.size());
    out.push_back(tool_call_start_delta(index, c));
    out.push_back(tool_call_args_delta(index, c.arguments));
    calls_.push_back(std::move(c));
  }
  if (last && !pending_ws_.empty()) {
    if (calls_.empty()) emit_content(std::move(pending_ws_), out);
    pending_ws_.clear();
  }
}

std::vector<Json> ReplyStream::push(std::string_view text) {
  std::vector<Json> out;
  const std::string pass = stop_.push(text);
  if (parse_tools_)
    take(parser_.push(pass), out, false);
  else
    emit_content(pass, out);
  return out;
}

std::vector<Json> ReplyStream::finish() {
  std::vector<Json> out;
  const std::string rest = stop_.finish();
  if (parse_tools_) {
    take(parser_.push(rest), out, false);
    take(parser_.finish(), out, true);
  } else {
    emit_content(rest, out);
  }
  return out;
}

}  // namespace lr::serve
