// tokenize_sample: the chat template and tokenizer wired into assistant_spans and
// tokenize_spans (dataset.cpp). Kept in its own file so that the loaders link without
// the tokenizer.
#include "text/dataset.h"

namespace lr {

TokenizedSample tokenize_sample(const Sample& s, const Tokenizer& tok, const ChatTemplate& tmpl,
                                LossOn loss_on, size_t max_len) {
  const std::string full = tmpl.render(s.messages, s.tools, /*add_generation_prompt=*/false);
  EncodeFn encode = [&](std::string_view text) { return tok.encode(text); };
  if (loss_on == LossOn::All) return tokenize_spans(full, {}, encode, loss_on, max_len, s.label);
  RenderFn render = [&](const Json& messages, bool gen) {
    return tmpl.render(messages, s.tools, gen);
  };
  return tokenize_spans(full, assistant_spans(s.messages, full, render), encode, loss_on, max_len,
                        s.label);
}

}  // namespace lr
