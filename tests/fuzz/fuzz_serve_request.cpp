// libFuzzer target: a request body of `layerroute serve`, as a stranger may send it. The
// first byte picks the endpoint (even: /v1/chat/completions, odd: /v1/completions) and the
// number of model blocks a "mask:BITS" gate override is checked against; the rest is the
// body. The parser either yields a request that renders to a prompt, or an ApiError (400);
// nothing else may escape.
#include <cstdlib>

#include "fuzz_util.h"
#include "serve/api_error.h"
#include "serve/request.h"
#include "text/chat_template.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const lr::ChatTemplate tmpl = lr::ChatTemplate::qwen25();
  const bool chat = (data[0] & 1) == 0;
  const int n_layers = 1 + (data[0] >> 1) % 48;
  try {
    const lr::Json body = lr::serve::parse_body(lr::fuzz::as_view(data + 1, size - 1));
    const lr::serve::GenRequest r = chat ? lr::serve::parse_chat_request(body, n_layers)
                                         : lr::serve::parse_completion_request(body, n_layers);
    const std::string prompt = lr::serve::prompt_text(r, tmpl);
    // What the scheduler relies on: a prompt ends with the forced tool-call prefix, if any,
    // and a checked gate override fits the model.
    const std::string prefix = lr::serve::forced_prefix(r);
    if (prompt.size() < prefix.size() ||
        prompt.compare(prompt.size() - prefix.size(), prefix.size(), prefix) != 0)
      std::abort();
    if (!chat && prompt.empty()) std::abort();
    if (r.stop.size() > 4) std::abort();
  } catch (const lr::serve::ApiError& e) {
    if (e.status != 400) std::abort();
  }
  return 0;
}
