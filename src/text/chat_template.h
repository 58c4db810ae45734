#pragma once
// Chat templates rendered natively. A model's tokenizer_config.json `chat_template` is
// matched against the templates we implement; an unknown template is a clear error
// rather than a silently different prompt.
#include <string>

#include "io/json.h"

namespace lr {

enum class ChatTemplateKind { Qwen25 };

class ChatTemplate {
 public:
  // Reads DIR/tokenizer_config.json; throws lr::Error when there is no template or it is
  // not one we implement.
  static ChatTemplate from_model_dir(const std::string& dir);
  // Picks by the template text itself (as stored in tokenizer_config.json).
  static ChatTemplate from_template_text(const std::string& text, const std::string& where);
  static ChatTemplate qwen25() { return ChatTemplate(ChatTemplateKind::Qwen25); }

  // messages: OpenAI-style [{"role","content","tool_calls"?}...]; tools: array or null.
  // Byte-identical to transformers' apply_chat_template(tokenize=False).
  std::string render(const Json& messages, const Json& tools, bool add_generation_prompt) const;
  ChatTemplateKind kind() const { return kind_; }

 private:
  explicit ChatTemplate(ChatTemplateKind k) : kind_(k) {}
  ChatTemplateKind kind_;
};

}  // namespace lr
