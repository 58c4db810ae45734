#include "serve/tool_call_parser.h"

#include "io/json.h"
#include "text/py_json.h"

namespace lr::serve {

namespace {

// Length of the longest suffix of s that is a proper prefix of tag (text that may yet
// become the tag once more arrives).
size_t partial_tag_suffix(std::string_view s, std::string_view tag) {
  const size_t most = std::min(s.size(), tag.size() - 1);
  for (size_t n = most; n > 0; --n)
    if (s.substr(s.size() - n) == tag.substr(0, n)) return n;
  return 0;
}

std::string_view trim(std::string_view s) {
  const char* ws = " \t\r\n";
  const size_t a = s.find_first_not_of(ws);
  if (a == std::string_view::npos) return {};
  return s.substr(a, s.find_last_not_of(ws) - a + 1);
}

// {"name": string, "arguments": object | JSON text of an object | absent}.
bool as_call(std::string_view body, ParsedCall& call) {
  // Bounded depth (kMaxJsonDepth), as every JSON read: deeper is not a call.
  const Json j = parse_json_or_discarded(trim(body));
  if (!j.is_object()) return false;
  const auto name = j.find("name");
  if (name == j.end() || !name->is_string() || name->get_ref<const std::string&>().empty())
    return false;
  Json args = Json::object();
  const auto a = j.find("arguments");
  if (a != j.end()) {
    if (a->is_object()) {
      args = *a;
    } else if (a->is_string()) {
      args = parse_json_or_discarded(a->get_ref<const std::string&>());
      if (!args.is_object()) return false;
    } else {
      return false;
    }
  }
  call.name = name->get<std::string>();
  call.arguments = py_json_dumps(args);
  return true;
}

}  // namespace

void append_content(std::vector<ParseEvent>& out, std::string_view text) {
  if (text.empty()) return;
  if (!out.empty() && out.back().kind == ParseEvent::Kind::Content) {
    out.back().text += text;
    return;
  }
  ParseEvent e;
  e.text = std::string(text);
  out.push_back(std::move(e));
}

void ToolCallParser::close_block(std::string_view body, std::vector<ParseEvent>& out, bool closed) {
  ParsedCall call;
  if (as_call(body, call)) {
    ParseEvent e;
    e.kind = ParseEvent::Kind::Call;
    e.call = std::move(call);
    out.push_back(std::move(e));
    ++calls_;
    return;
  }
  ++invalid_;
  std::string raw(kOpen);
  raw += body;
  if (closed) raw += kClose;
  append_content(out, raw);
}

void ToolCallParser::scan(std::vector<ParseEvent>& out) {
  for (;;) {
    if (!in_block_) {
      const size_t p = buf_.find(kOpen);
      if (p == std::string::npos) {
        const size_t hold = partial_tag_suffix(buf_, kOpen);
        append_content(out, std::string_view(buf_).substr(0, buf_.size() - hold));
        buf_.erase(0, buf_.size() - hold);
        return;
      }
      append_content(out, std::string_view(buf_).substr(0, p));
      buf_.erase(0, p + kOpen.size());
      in_block_ = true;
      scan_ = 0;
      in_str_ = esc_ = false;
      continue;
    }
    // In a block: find the closing tag outside JSON strings.
    bool closed = false;
    while (scan_ < buf_.size()) {
      const char c = buf_[scan_];
      if (in_str_) {
        if (esc_)
          esc_ = false;
        else if (c == '\\')
          esc_ = true;
        else if (c == '"')
          in_str_ = false;
      } else if (c == '"') {
        in_str_ = true;
      } else if (c == '<') {
        const std::string_view rest = std::string_view(buf_).substr(scan_);
        if (rest.size() < kClose.size() && kClose.substr(0, rest.size()) == rest)
          return;  // maybe the closing tag: wait for more
        if (rest.substr(0, kClose.size()) == kClose) {
          closed = true;
          break;
        }
      }
      ++scan_;
    }
    if (!closed) return;
    const std::string body = buf_.substr(0, scan_);
    buf_.erase(0, scan_ + kClose.size());
    in_block_ = false;
    close_block(body, out, true);
  }
}

std::vector<ParseEvent> ToolCallParser::push(std::string_view text) {
  std::vector<ParseEvent> out;
  buf_ += text;
  scan(out);
  return out;
}

std::vector<ParseEvent> ToolCallParser::finish() {
  std::vector<ParseEvent> out;
  if (!in_block_) {
    append_content(out, buf_);
    buf_.clear();
    return out;
  }
  // The string-aware scan found no end: an unbalanced quote, or no closing tag at all. A
  // plain closing tag still ends the (then invalid) block; what follows is parsed again.
  in_block_ = false;
  const size_t p = buf_.find(kClose);
  if (p == std::string::npos) {
    const std::string body = std::move(buf_);
    buf_.clear();
    close_block(body, out, false);
    return out;
  }
  const std::string body = buf_.substr(0, p), rest = buf_.substr(p + kClose.size());
  buf_.clear();
  close_block(body, out, true);
  for (auto& e : push(rest)) {
    if (e.kind == ParseEvent::Kind::Content)
      append_content(out, e.text);
    else
      out.push_back(std::move(e));
  }
  for (auto& e : finish()) {
    if (e.kind == ParseEvent::Kind::Content)
      append_content(out, e.text);
    else
      out.push_back(std::move(e));
  }
  return out;
}

ParsedReply parse_tool_calls(std::string_view text) {
  ToolCallParser p;
  ParsedReply r;
  auto take = [&](std::vector<ParseEvent> ev) {
    for (auto& e : ev) {
      if (e.kind == ParseEvent::Kind::Content)
        r.content += e.text;
      else
        r.calls.push_back(std::move(e.call));
    }
  };
  take(p.push(text));
  take(p.finish());
  r.invalid_blocks = p.invalid_blocks();
  return r;
}

}  // namespace lr::serve
