#include "serve/request.h"

#include <cmath>

#include "serve/api_error.h"

namespace lr::serve {

namespace {

const Json* get(const Json& o, const char* key) {
  const auto it = o.find(key);
  return it == o.end() || it->is_null() ? nullptr : &*it;
}

std::string type_of(const Json& j) {
  return j.type_name();
}

bool as_bool(const Json& o, const char* key, bool dflt) {
  const Json* v = get(o, key);
  if (!v) return dflt;
  if (!v->is_boolean())
    bad_request(key, std::string(key) + " must be a boolean, got " + type_of(*v));
  return v->get<bool>();
}

double as_number(const Json& o, const char* key, double dflt, double lo, double hi) {
  const Json* v = get(o, key);
  if (!v) return dflt;
  if (!v->is_number()) bad_request(key, std::string(key) + " must be a number, got " + type_of(*v));
  const double x = v->get<double>();
  if (!(x >= lo && x <= hi))
    bad_request(key, std::string(key) + " must be in [" + std::to_string(lo) + ", " +
                         std::to_string(hi) + "]");
  return x;
}

int64_t as_int(const Json& o, const char* key, int64_t dflt, int64_t lo) {
  const Json* v = get(o, key);
  if (!v) return dflt;
  if (!v->is_number_integer())
    bad_request(key, std::string(key) + " must be an integer, got " + type_of(*v));
  const int64_t x = v->get<int64_t>();
  if (x < lo) bad_request(key, std::string(key) + " must be >= " + std::to_string(lo));
  return x;
}

// Fields both endpoints share: sampling, stop, stream, n, the layerroute override.
void parse_common(const Json& b, GenRequest& r, int n_layers) {
  if (const Json* m = get(b, "model")) {
    if (!m->is_string()) bad_request("model", "model must be a string");
    r.model = m->get<std::string>();
  }
  r.sampler.temperature = float(as_number(b, "temperature", 1.0, 0.0, 2.0));
  r.sampler.top_p = float(as_number(b, "top_p", 1.0, 0.0, 1.0));
  if (r.sampler.top_p <= 0.f) bad_request("top_p", "top_p must be in (0, 1]");
  r.sampler.top_k = int(std::min<int64_t>(as_int(b, "top_k", 0, 0), 1 << 30));
  if (const Json* s = get(b, "seed")) {
    if (!s->is_number_integer()) bad_request("seed", "seed must be an integer");
    r.sampler.seed = s->is_number_unsigned() ? s->get<uint64_t>() : uint64_t(s->get<int64_t>());
    r.seeded = true;
  }
  const int64_t n = as_int(b, "n", 1, 1);
  if (n != 1) bad_request("n", "n must be 1 (one choice per request)");
  // max_completion_tokens is the newer name; either works, the newer wins.
  const int64_t mt = as_int(b, "max_tokens", -1, 1);
  const int64_t mct = as_int(b, "max_completion_tokens", -1, 1);
  const int64_t most = mct > 0 ? mct : mt;
  r.max_tokens = most > 0 ? int(std::min<int64_t>(most, 1 << 30)) : -1;
  if (const Json* s = get(b, "stop")) {
    if (s->is_string()) {
      r.stop.push_back(s->get<std::string>());
    } else if (s->is_array()) {
      if (s->size() > 4) bad_request("stop", "stop takes at most 4 sequences");
      for (const Json& x : *s) {
        if (!x.is_string()) bad_request("stop", "stop must be a string or a list of strings");
        r.stop.push_back(x.get<std::string>());
      }
    } else {
      bad_request("stop", "stop must be a string or a list of strings, got " + type_of(*s));
    }
    for (const std::string& x : r.stop)
      if (x.empty()) bad_request("stop", "stop sequences must not be empty");
  }
  r.stream = as_bool(b, "stream", false);
  if (const Json* so = get(b, "stream_options")) {
    if (!so->is_object()) bad_request("stream_options", "stream_options must be an object");
    if (!r.stream)
      bad_request("stream_options", "stream_options is only allowed when stream is true");
    r.include_usage = as_bool(*so, "include_usage", false);
  }
  if (const Json* u = get(b, "user")) {
    if (!u->is_string()) bad_request("user", "user must be a string");
    r.user = u->get<std::string>();
  }
  if (const Json* lr = get(b, "layerroute")) {
    if (!lr->is_object()) bad_request("layerroute", "layerroute must be an object");
    if (const Json* g = get(*lr, "gates")) {
      if (!g->is_string())
        bad_request("layerroute.gates",
                    "layerroute.gates must be \"router\", \"open\" or "
                    "\"mask:BITS\"");
      try {
        GateSpec spec = GateSpec::parse(g->get<std::string>());
        spec.check(n_layers);
        r.gates = spec;
      } catch (const ApiError&) {
        throw;
      } catch (const Error& e) {
        std::string msg = e.what();
        if (msg.rfind("--gates: ", 0) == 0) msg = msg.substr(9);
        bad_request("layerroute.gates", "layerroute.gates: " + msg);
      }
    }
  }
  if (const Json* lp = get(b, "logprobs"))
    if (!lp->is_boolean() || lp->get<bool>())
      bad_request("logprobs", "logprobs are not supported", "unsupported_parameter");
}

// Content as the template takes it: a string, or null; OpenAI's text parts are joined.
Json content_of(const Json& m, size_t i, bool may_be_null) {
  const std::string where = "messages[" + std::to_string(i) + "].content";
  const Json* c = get(m, "content");
  if (!c) {
    if (may_be_null) return Json();
    bad_request(where, where + " is missing");
  }
  if (c->is_string()) return *c;
  if (c->is_array()) {
    std::string text;
    for (size_t k = 0; k < c->size(); ++k) {
      const Json& p = (*c)[k];
      const Json* t = p.is_object() ? get(p, "type") : nullptr;
      const Json* tx = p.is_object() ? get(p, "text") : nullptr;
      if (!t || *t != "text" || !tx || !tx->is_string())
        bad_request(where + "[" + std::to_string(k) + "]",
                    where + "[" + std::to_string(k) +
                        "]: only {\"type\": \"text\", \"text\": ...} "
                        "parts are supported");
      text += tx->get<std::string>();
    }
    return text;
  }
  bad_request(where, where + " must be a string or a list of text parts, got " + type_of(*c));
}

// An assistant message's tool_calls with arguments parsed to objects, as the template
// prints them with tojson (OpenAI clients send the JSON text we returned).
Json tool_calls_of(const Json& calls, size_t i, std::vector<std::string>& ids) {
  const std::string where = "messages[" + std::to_string(i) + "].tool_calls";
  if (!calls.is_array()) bad_request(where, where + " must be a list");
  Json out = Json::array();
  for (size_t k = 0; k < calls.size(); ++k) {
    const std::string w = where + "[" + std::to_string(k) + "]";
    const Json& c = calls[k];
    if (!c.is_object()) bad_request(w, w + " must be an object");
    const Json* fn = get(c, "function");
    if (!fn || !fn->is_object()) bad_request(w + ".function", w + ".function must be an object");
    const Json* name = get(*fn, "name");
    if (!name || !name->is_string() || name->get_ref<const std::string&>().empty())
      bad_request(w + ".function.name", w + ".function.name must be a non-empty string");
    Json args = Json::object();
    if (const Json* a = get(*fn, "arguments")) {
      if (a->is_string()) {
        const std::string& text = a->get_ref<const std::string&>();
        if (json_depth(text) > kMaxJsonDepth)
          bad_request(w + ".function.arguments", w + ".function.arguments nests deeper than " +
                                                     std::to_string(kMaxJsonDepth) + " levels");
        args = parse_json_or_discarded(text);
        if (args.is_discarded())
          bad_request(w + ".function.arguments", w + ".function.arguments is not valid JSON");
      } else if (a->is_object()) {
        args = *a;
      } else {
        bad_request(w + ".function.arguments", w + ".function.arguments must be a JSON string");
      }
    }
    if (const Json* id = get(c, "id")) {
      if (!id->is_string()) bad_request(w + ".id", w + ".id must be a string");
      ids.push_back(id->get<std::string>());
    }
    out.push_back({{"type", "function"},
                   {"function", {{"name", name->get<std::string>()}, {"arguments", args}}}});
  }
  return out;
}

}  // namespace

Json parse_body(std::string_view text) {
  // Copying, comparing and rendering a value recurse once per level: a stranger's "[[[[..."
  // is refused before it is parsed.
  if (json_depth(text) > kMaxJsonDepth)
    bad_request("",
                "the request body nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  Json j = parse_json_or_discarded(text);
  if (j.is_discarded()) bad_request("", "the request body is not valid JSON");
  if (!j.is_object()) bad_request("", "the request body must be a JSON object");
  return j;
}

GenRequest parse_chat_request(const Json& b, int n_layers) {
  GenRequest r;
  r.chat = true;
  parse_common(b, r, n_layers);
  const Json* msgs = get(b, "messages");
  if (!msgs) bad_request("messages", "messages is required");
  if (!msgs->is_array()) bad_request("messages", "messages must be a list");
  if (msgs->empty()) bad_request("messages", "messages must not be empty");
  r.messages = Json::array();
  std::vector<std::string> open_ids;  // ids of the last assistant turn's calls
  bool calls_open = false;            // a tool message may follow
  for (size_t i = 0; i < msgs->size(); ++i) {
    const Json& m = (*msgs)[i];
    const std::string where = "messages[" + std::to_string(i) + "]";
    if (!m.is_object()) bad_request(where, where + " must be an object");
    const Json* role = get(m, "role");
    if (!role || !role->is_string()) bad_request(where + ".role", where + ".role must be a string");
    std::string rl = role->get<std::string>();
    if (rl == "developer") rl = "system";  // OpenAI's newer name for the system role
    Json out = {{"role", rl}};
    if (rl == "system" || rl == "user") {
      out["content"] = content_of(m, i, false);
      calls_open = false;
    } else if (rl == "assistant") {
      const Json* calls = get(m, "tool_calls");
      open_ids.clear();
      Json content = content_of(m, i, calls != nullptr);
      out["content"] = content;
      if (calls) {
        out["tool_calls"] = tool_calls_of(*calls, i, open_ids);
        calls_open = !out["tool_calls"].empty();
        if (!calls_open && content.is_null())
          bad_request(where + ".content",
                      where + ": an assistant message needs content or tool_calls");
      } else {
        calls_open = false;
      }
    } else if (rl == "tool") {
      if (!calls_open)
        bad_request(where,
                    where + ": a tool message must follow an assistant message with tool_calls");
      const Json* id = get(m, "tool_call_id");
      if (!id || !id->is_string())
        bad_request(where + ".tool_call_id", where + ".tool_call_id must be a string");
      if (!open_ids.empty() &&
          std::find(open_ids.begin(), open_ids.end(), id->get<std::string>()) == open_ids.end())
        bad_request(where + ".tool_call_id",
                    where + ".tool_call_id \"" + id->get<std::string>() +
                        "\" matches no call of the assistant turn before it");
      out["content"] = content_of(m, i, false);
    } else {
      bad_request(where + ".role",
                  where + ".role \"" + rl + "\" is not one of system, user, assistant, tool");
    }
    r.messages.push_back(std::move(out));
  }

  if (const Json* t = get(b, "tools")) {
    if (!t->is_array()) bad_request("tools", "tools must be a list");
    for (size_t k = 0; k < t->size(); ++k) {
      const Json& tool = (*t)[k];
      const std::string w = "tools[" + std::to_string(k) + "]";
      const Json* fn = tool.is_object() ? get(tool, "function") : nullptr;
      const Json* name = fn && fn->is_object() ? get(*fn, "name") : nullptr;
      if (!name || !name->is_string())
        bad_request(w, w + " must be {\"type\": \"function\", \"function\": {\"name\", ...}}");
    }
    if (!t->empty()) r.tools = *t;
  }
  if (const Json* tc = get(b, "tool_choice")) {
    if (tc->is_string()) {
      const std::string s = tc->get<std::string>();
      if (s == "auto")
        r.tool_choice = ToolChoice::Auto;
      else if (s == "none")
        r.tool_choice = ToolChoice::None;
      else if (s == "required")
        r.tool_choice = ToolChoice::Required;
      else
        bad_request("tool_choice", "tool_choice must be auto, none, required or a named function");
    } else if (tc->is_object()) {
      const Json* fn = get(*tc, "function");
      const Json* name = fn && fn->is_object() ? get(*fn, "name") : nullptr;
      if (!name || !name->is_string())
        bad_request("tool_choice",
                    "tool_choice must be {\"type\": \"function\", \"function\": "
                    "{\"name\": ...}}");
      r.tool_choice = ToolChoice::Function;
      r.tool_name = name->get<std::string>();
      bool known = false;
      if (r.tools.is_array())
        for (const Json& tool : r.tools) known = known || tool["function"]["name"] == r.tool_name;
      if (!known)
        bad_request("tool_choice",
                    "tool_choice names \"" + r.tool_name + "\", which is not in tools");
    } else {
      bad_request("tool_choice", "tool_choice must be a string or an object");
    }
    if ((r.tool_choice == ToolChoice::Required) && r.tools.is_null())
      bad_request("tool_choice", "tool_choice required needs tools");
  }
  if (const Json* rf = get(b, "response_format")) {
    const Json* t = rf->is_object() ? get(*rf, "type") : nullptr;
    if (!t || !t->is_string())
      bad_request("response_format", "response_format must be {\"type\": ...}");
    if (*t != "text")
      r.warnings.push_back("response_format " + t->get<std::string>() + " is not enforced");
  }
  return r;
}

GenRequest parse_completion_request(const Json& b, int n_layers) {
  GenRequest r;
  r.chat = false;
  parse_common(b, r, n_layers);
  const Json* p = get(b, "prompt");
  if (!p) bad_request("prompt", "prompt is required");
  if (p->is_string()) {
    r.prompt = p->get<std::string>();
  } else if (p->is_array() && p->size() == 1 && (*p)[0].is_string()) {
    r.prompt = (*p)[0].get<std::string>();
  } else {
    bad_request("prompt", "prompt must be a string (one prompt per request)");
  }
  if (r.prompt.empty()) bad_request("prompt", "prompt must not be empty");
  if (as_bool(b, "echo", false))
    bad_request("echo", "echo is not supported", "unsupported_parameter");
  if (get(b, "suffix")) bad_request("suffix", "suffix is not supported", "unsupported_parameter");
  if (as_int(b, "best_of", 1, 1) != 1) bad_request("best_of", "best_of must be 1");
  return r;
}

std::string forced_prefix(const GenRequest& r) {
  if (!r.parse_tools()) return "";
  if (r.tool_choice == ToolChoice::Required) return "<tool_call>\n{\"name\": \"";
  if (r.tool_choice == ToolChoice::Function)
    return "<tool_call>\n{\"name\": \"" + r.tool_name + "\", \"arguments\": ";
  return "";
}

std::string prompt_text(const GenRequest& r, const ChatTemplate& tmpl) {
  if (!r.chat) return r.prompt;
  std::string text;
  try {
    text = tmpl.render(r.messages, r.tool_choice == ToolChoice::None ? Json() : r.tools, true);
  } catch (const ApiError&) {
    throw;
  } catch (const Error& e) {
    bad_request("messages", e.what());
  }
  return text + forced_prefix(r);
}

}  // namespace lr::serve
