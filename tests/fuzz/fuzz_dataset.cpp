// libFuzzer target: every dataset loader on arbitrary files. The first byte picks the format
// (hermes, glaive incl. its ShareGPT layout, gsm8k, turing, messages); the rest is the file.
// Every sample loaded must then render with the chat template or fail with lr::Error.
#include "core/error.h"
#include "fuzz_util.h"
#include "text/chat_template.h"
#include "text/dataset.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const char* const kFormats[] = {"hermes", "glaive", "gsm8k", "turing", "messages"};
  const char* format = kFormats[data[0] % 5];
  const std::string path =
      lr::fuzz::scratch().write("rows.jsonl", lr::fuzz::as_view(data + 1, size - 1));
  const lr::ChatTemplate tmpl = lr::ChatTemplate::qwen25();
  try {
    lr::LoadReport rep;
    const auto samples =
        lr::load_dataset(lr::DataSpec::parse(std::string(format) + ":" + path), 0, &rep);
    for (const lr::Sample& s : samples) {
      try {
        (void)tmpl.render(s.messages, s.tools, false);
      } catch (const lr::Error&) {
      }
    }
  } catch (const lr::Error&) {
  }
  return 0;
}
