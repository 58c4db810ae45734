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
  // Reads DIR/tokenizer_config.json (`chat_template`: a string, or a list of
  // {name, template} from which "default" is taken; when the key is absent,
  // DIR/chat_template.jinja as newer transformers saves it); throws lr::Error when there
  // is no template or it is not one we implement.
  static ChatTemplate from_model_dir(const std::string& dir);
  // Picks by the template text itself (as stored in tokenizer_config.json); `where`
  // names its source in errors.
  static ChatTemplate from_template_text(const std::string& text, const std::string& where);
  static ChatTemplate qwen25() { return ChatTemplate(ChatTemplateKind::Qwen25, "builtin"); }

  // messages: OpenAI-style [{"role","content","tool_calls"?}...]; tools: array or null.
  // Byte-identical to transformers' apply_chat_template(tokenize=False). Inputs on which
  // jinja would fail or print nonsense (null content -> "None", an unknown role silently
  // dropped) throw lr::Error naming the message instead.
  std::string render(const Json& messages, const Json& tools, bool add_generation_prompt) const;
  ChatTemplateKind kind() const { return kind_; }
  // "qwen2.5".
  const char* name() const;
  // How from_template_text recognised the text: "exact" (same bytes), "whitespace" (same
  // after stripping indentation and blank lines, which these templates never print),
  // "markers" (a variant carrying all of Qwen2.5's prompt strings; logged), or "builtin".
  const std::string& matched_by() const { return matched_by_; }

 private:
  ChatTemplate(ChatTemplateKind k, std::string how) : kind_(k), matched_by_(std::move(how)) {}
  ChatTemplateKind kind_;
  std::string matched_by_;
};

}  // namespace lr
