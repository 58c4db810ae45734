// libFuzzer target: the incremental tool-call parser of `layerroute serve` over arbitrary
// model output. The first two bytes pick a split point; the rest is the text. Fed in one
// piece, split at that point, and one byte at a time, the parser must give the same content
// and the same calls in the same order (how the decoder happens to cut the text may not
// change what the client sees), and every call's arguments must be a JSON object.
#include <cstdlib>

#include "fuzz_util.h"
#include "io/json.h"
#include "serve/tool_call_parser.h"

namespace {

using lr::serve::ParseEvent;
using lr::serve::ToolCallParser;

// Events with adjacent content merged (the parser may cut content anywhere).
struct Flat {
  std::vector<ParseEvent> ev;
  int invalid = 0, calls = 0;
  void take(std::vector<ParseEvent> in) {
    for (ParseEvent& e : in) {
      if (e.kind == ParseEvent::Kind::Content)
        lr::serve::append_content(ev, e.text);
      else
        ev.push_back(std::move(e));
    }
  }
  bool operator==(const Flat& o) const {
    if (ev.size() != o.ev.size() || invalid != o.invalid || calls != o.calls) return false;
    for (size_t i = 0; i < ev.size(); ++i) {
      const ParseEvent &a = ev[i], &b = o.ev[i];
      if (a.kind != b.kind || a.text != b.text || a.call.name != b.call.name ||
          a.call.arguments != b.call.arguments)
        return false;
    }
    return true;
  }
};

Flat feed(std::string_view text, const std::vector<size_t>& cuts) {
  ToolCallParser p;
  Flat f;
  size_t at = 0;
  for (size_t c : cuts) {
    f.take(p.push(text.substr(at, c - at)));
    at = c;
  }
  f.take(p.push(text.substr(at)));
  f.take(p.finish());
  f.invalid = p.invalid_blocks();
  f.calls = p.calls();
  return f;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const std::string_view text = lr::fuzz::as_view(data + 2, size - 2);
  const size_t cut = (size_t(data[0]) << 8 | data[1]) % (text.size() + 1);
  const Flat whole = feed(text, {});
  if (!(feed(text, {cut}) == whole)) std::abort();
  std::vector<size_t> bytes;
  for (size_t i = 1; i < text.size(); ++i) bytes.push_back(i);
  if (!(feed(text, bytes) == whole)) std::abort();
  for (const ParseEvent& e : whole.ev) {
    if (e.kind != ParseEvent::Kind::Call) continue;
    if (e.call.name.empty()) std::abort();
    if (!lr::parse_json_or_discarded(e.call.arguments).is_object()) std::abort();
  }
  // The whole-text form agrees with the events.
  const lr::serve::ParsedReply r = lr::serve::parse_tool_calls(text);
  std::string content;
  size_t calls = 0;
  for (const ParseEvent& e : whole.ev)
    e.kind == ParseEvent::Kind::Content ? void(content += e.text) : void(++calls);
  if (r.content != content || r.calls.size() != calls || r.invalid_blocks != whole.invalid)
    std::abort();
  return 0;
}
