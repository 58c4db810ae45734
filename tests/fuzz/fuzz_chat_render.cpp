// libFuzzer target: the Qwen2.5 chat renderer over arbitrary {"messages","tools"} JSON, with
// and without the generation prompt, plus the assistant spans the loss mask is built from.
// Either a render or lr::Error; nothing else may escape.
#include "core/error.h"
#include "fuzz_util.h"
#include "io/json.h"
#include "text/chat_template.h"
#include "text/dataset.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const lr::ChatTemplate tmpl = lr::ChatTemplate::qwen25();
  try {
    const lr::Json j = lr::parse_json(lr::fuzz::as_view(data, size), "fuzz");
    if (!j.is_object()) return 0;
    const lr::Json messages = j.value("messages", lr::Json());
    const lr::Json tools = j.value("tools", lr::Json());
    (void)tmpl.render(messages, tools, true);
    const std::string full = tmpl.render(messages, tools, false);
    (void)lr::assistant_spans(
        messages, full, [&](const lr::Json& m, bool gen) { return tmpl.render(m, tools, gen); });
  } catch (const lr::Error&) {
  }
  return 0;
}
