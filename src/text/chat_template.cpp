#include "text/chat_template.h"

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string_view>

#include "core/error.h"
#include "core/logger.h"
#include "text/py_json.h"

namespace lr {
namespace {

// ---- Qwen2.5-Instruct: the strings the template prints, in the order it prints them.
constexpr std::string_view kQwenDefaultSystem =
    "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.";
constexpr std::string_view kQwenToolsHead =
    "\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
    "You are provided with function signatures within <tools></tools> XML tags:\n<tools>";
constexpr std::string_view kQwenToolsTail =
    "\n</tools>\n\nFor each function call, return a json object with function name and "
    "arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": "
    "<function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n";

// ---- Recognition. FNV-1a 64 of the template text as tokenizer_config.json carries it
// (the fixture shared/fixtures/chat-template/qwen2.5-instruct.jinja), and of the same
// text after normalize_ws(); we keep hashes, not a copy of the template.
constexpr uint64_t kQwen25Exact = 0xc2b27ee60f1b8775ull;
constexpr uint64_t kQwen25Normalized = 0x7a6216f969bfcbfdull;

// Source fragments (as written in the jinja text, escapes included) that together pin
// down Qwen2.5's prompt format; a variant carrying all of them renders the same prompt
// for ordinary conversations. Qwen3-style reasoning templates are excluded.
constexpr std::string_view kQwen25Markers[] = {
    "<|im_start|>",
    "<|im_end|>",
    "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.",
    R"(You may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>)",
    R"(<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call>)",
    R"('\n<tool_call>\n{"name": "')",
    "tool_call.arguments | tojson",
    R"('\n<tool_response>\n')",
    R"(messages[loop.index0 - 1].role != "tool")",
};
constexpr std::string_view kNotQwen25Markers[] = {"<think>", "reasoning_content"};

uint64_t fnv1a64(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

// Strips each line's leading/trailing blanks and drops empty lines. Every tag in these
// templates opens with `{%-`/`{{-` and jinja runs with trim_blocks, so indentation and
// line breaks between tags are never printed.
std::string normalize_ws(std::string_view text) {
  std::string out;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    size_t b = line.find_first_not_of(" \t\r");
    if (b != std::string_view::npos) {
      size_t e = line.find_last_not_of(" \t\r");
      if (!out.empty()) out += '\n';
      out.append(line.substr(b, e - b + 1));
    }
    pos = nl + 1;
  }
  return out;
}

// Text after the last tag is printed (less one newline, by trim_blocks); whitespace
// normalisation must not hide extra trailing output.
bool tail_prints_nothing(std::string_view text) {
  size_t p = text.rfind("%}");
  if (p == std::string_view::npos) return false;
  std::string_view tail = text.substr(p + 2);
  return tail.empty() || tail == "\n" || tail == "\r\n";
}

std::string first_line(std::string_view text) {
  std::string_view l = text.substr(0, text.find('\n'));
  if (l.size() > 60) return std::string(l.substr(0, 60)) + "...";
  return std::string(l);
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  if (!f) fail(p.string(), ": cannot read");
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

// ---- Rendering helpers: the checks name the message so a bad dataset row is findable.
const Json* field(const Json& obj, const char* key) {
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

// Content that the template concatenates or prints: jinja fails on null/missing with `+`
// and prints "None" or "" with `{{ }}`; neither is a prompt anyone wants.
const std::string& text_content(const Json& m, size_t i) {
  const Json* c = field(m, "content");
  LR_CHECK(c && c->is_string(), "chat template qwen2.5: messages[", i, "] (",
           m["role"].get_ref<const std::string&>(), "): content must be a string, got ",
           c ? c->type_name() : "nothing");
  return c->get_ref<const std::string&>();
}

void render_tool_call(std::string& out, const Json& call, size_t i, size_t k) {
  LR_CHECK(call.is_object(), "chat template qwen2.5: messages[", i, "].tool_calls[", k,
           "] must be an object");
  // The template uses `function` when present, else the call itself (both forms occur).
  const Json* fn = field(call, "function");
  const Json& f = fn ? *fn : call;
  LR_CHECK(f.is_object(), "chat template qwen2.5: messages[", i, "].tool_calls[", k,
           "].function must be an object");
  const Json* name = field(f, "name");
  LR_CHECK(name && name->is_string(), "chat template qwen2.5: messages[", i, "].tool_calls[", k,
           "]: name must be a string");
  const Json* args = field(f, "arguments");
  LR_CHECK(args, "chat template qwen2.5: messages[", i, "].tool_calls[", k, "]: arguments missing");
  out += "\n<tool_call>\n{\"name\": \"";
  out += name->get_ref<const std::string&>();  // printed raw, as jinja does
  out += "\", \"arguments\": ";
  // `| tojson`: an object becomes JSON; a string (already-encoded arguments) becomes a
  // quoted JSON string literal, exactly as transformers renders it.
  py_json_append(out, *args);
  out += "}\n</tool_call>";
}

std::string render_qwen25(const Json& messages, const Json& tools, bool add_generation_prompt) {
  LR_CHECK(messages.is_array() && !messages.empty(),
           "chat template qwen2.5: messages must be a non-empty array");
  LR_CHECK(tools.is_null() || tools.is_array(),
           "chat template qwen2.5: tools must be an array or null, got ", tools.type_name());
  for (size_t i = 0; i < messages.size(); ++i) {
    const Json& m = messages[i];
    LR_CHECK(m.is_object(), "chat template qwen2.5: messages[", i, "] must be an object");
    const Json* role = field(m, "role");
    LR_CHECK(role && role->is_string(), "chat template qwen2.5: messages[", i,
             "]: role must be a string");
    const std::string& r = role->get_ref<const std::string&>();
    // jinja would drop a message with any other role without a word.
    LR_CHECK(r == "system" || r == "user" || r == "assistant" || r == "tool",
             "chat template qwen2.5: messages[", i, "]: unknown role \"", r,
             "\" (known: system, user, assistant, tool)");
    const Json* calls = field(m, "tool_calls");
    LR_CHECK(!calls || calls->is_null() || calls->is_array(), "chat template qwen2.5: messages[", i,
             "]: tool_calls must be an array or null");
  }

  std::string out;
  const bool first_is_system = messages[0]["role"] == "system";
  if (!tools.empty()) {
    out += "<|im_start|>system\n";
    if (first_is_system) {
      out += text_content(messages[0], 0);
    } else {
      out += kQwenDefaultSystem;
    }
    out += kQwenToolsHead;
    for (const Json& tool : tools) {
      out += '\n';
      py_json_append(out, tool);
    }
    out += kQwenToolsTail;
  } else {
    out += "<|im_start|>system\n";
    out += first_is_system ? std::string_view(text_content(messages[0], 0)) : kQwenDefaultSystem;
    out += "<|im_end|>\n";
  }

  for (size_t i = 0; i < messages.size(); ++i) {
    const Json& m = messages[i];
    const std::string& role = m["role"].get_ref<const std::string&>();
    const Json* calls = field(m, "tool_calls");
    const bool has_calls = calls && calls->is_array() && !calls->empty();
    if (role == "user" || (role == "system" && i > 0) || (role == "assistant" && !has_calls)) {
      out += "<|im_start|>";
      out += role;
      out += '\n';
      out += text_content(m, i);
      out += "<|im_end|>\n";
    } else if (role == "assistant") {
      out += "<|im_start|>assistant";
      // `{% if message.content %}`: null, missing and "" all print nothing.
      const Json* c = field(m, "content");
      LR_CHECK(!c || c->is_null() || c->is_string(), "chat template qwen2.5: messages[", i,
               "] (assistant): content must be a string or null, got ", c->type_name());
      if (c && c->is_string() && !c->get_ref<const std::string&>().empty()) {
        out += '\n';
        out += c->get_ref<const std::string&>();
      }
      for (size_t k = 0; k < calls->size(); ++k) render_tool_call(out, (*calls)[k], i, k);
      out += "<|im_end|>\n";
    } else if (role == "tool") {
      // Consecutive tool results share one user turn.
      if (i == 0 || messages[i - 1]["role"] != "tool") out += "<|im_start|>user";
      out += "\n<tool_response>\n";
      out += text_content(m, i);
      out += "\n</tool_response>";
      if (i + 1 == messages.size() || messages[i + 1]["role"] != "tool") out += "<|im_end|>\n";
    }
    // role == "system" at i == 0 was printed in the header above.
  }
  if (add_generation_prompt) out += "<|im_start|>assistant\n";
  return out;
}

}  // namespace

const char* ChatTemplate::name() const {
  switch (kind_) {
    case ChatTemplateKind::Qwen25:
      return "qwen2.5";
  }
  return "?";
}

ChatTemplate ChatTemplate::from_template_text(const std::string& text, const std::string& where) {
  if (fnv1a64(text) == kQwen25Exact) return ChatTemplate(ChatTemplateKind::Qwen25, "exact");
  if (fnv1a64(normalize_ws(text)) == kQwen25Normalized && tail_prints_nothing(text))
    return ChatTemplate(ChatTemplateKind::Qwen25, "whitespace");
  bool markers = true;
  for (std::string_view m : kQwen25Markers) markers = markers && text.find(m) != std::string::npos;
  for (std::string_view m : kNotQwen25Markers)
    markers = markers && text.find(m) == std::string::npos;
  if (markers) {
    log_info(where,
             ": chat template differs from Qwen2.5-Instruct's but carries its prompt "
             "format; rendering it as qwen2.5");
    return ChatTemplate(ChatTemplateKind::Qwen25, "markers");
  }
  fail(where,
       ": chat template not supported (known: qwen2.5); it is not Qwen2.5-Instruct's "
       "template (",
       text.size(), " chars, first line: \"", first_line(text), "\")");
}

ChatTemplate ChatTemplate::from_model_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  const fs::path cfg_path = fs::path(dir) / "tokenizer_config.json";
  const std::string where = cfg_path.string();
  const std::string raw = read_file(cfg_path);
  check_json_depth(raw, where);
  Json cfg;
  try {
    cfg = Json::parse(raw);
  } catch (const nlohmann::json::exception& e) {
    fail(where, ": not valid JSON: ", e.what());
  }
  LR_CHECK(cfg.is_object(), where, ": not a JSON object");
  const Json* t = field(cfg, "chat_template");
  // Models layerroute builds itself (demo, init-random without a template file) name the
  // native template they were trained with instead of carrying jinja text.
  if ((!t || t->is_null()) && field(cfg, "layerroute_chat_template")) {
    const Json* named = field(cfg, "layerroute_chat_template");
    LR_CHECK(named->is_string() && *named == "qwen2.5", where,
             ": layerroute_chat_template must be \"qwen2.5\" (the only native template)");
    return qwen25();
  }
  if (!t || t->is_null()) {
    // Newer transformers saves the template beside the config instead of inside it.
    const fs::path jinja = fs::path(dir) / "chat_template.jinja";
    LR_CHECK(fs::exists(jinja), where, ": no chat_template (and no ", jinja.string(),
             "); a chat model's tokenizer_config.json carries one");
    return from_template_text(read_file(jinja), jinja.string());
  }
  if (t->is_string()) return from_template_text(t->get_ref<const std::string&>(), where);
  LR_CHECK(t->is_array(), where, ": chat_template must be a string or a list of {name, template}");
  // Named templates (transformers' list form): "default" is what apply_chat_template uses.
  std::string names;
  for (const Json& e : *t) {
    const Json* n = e.is_object() ? field(e, "name") : nullptr;
    const Json* tt = e.is_object() ? field(e, "template") : nullptr;
    LR_CHECK(n && n->is_string() && tt && tt->is_string(), where,
             ": chat_template list entries must be {\"name\": string, \"template\": string}");
    if (*n == "default") return from_template_text(tt->get_ref<const std::string&>(), where);
    names += (names.empty() ? "" : ", ") + n->get<std::string>();
  }
  fail(where, ": chat_template list has no \"default\" entry (has: ", names, ")");
}

std::string ChatTemplate::render(const Json& messages, const Json& tools,
                                 bool add_generation_prompt) const {
  switch (kind_) {
    case ChatTemplateKind::Qwen25:
      return render_qwen25(messages, tools, add_generation_prompt);
  }
  fail("chat template: unknown kind");
}

}  // namespace lr
