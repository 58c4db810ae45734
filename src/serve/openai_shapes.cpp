#include "serve/openai_shapes.h"

namespace lr::serve {

namespace {

Json base(const ResponseHead& h, const char* object) {
  return Json{{"id", h.id}, {"object", object}, {"created", h.created}, {"model", h.model}};
}

Json null_if_empty(const std::string& s) {
  return s.empty() ? Json() : Json(s);
}

}  // namespace

Json Usage::json() const {
  return Json{{"prompt_tokens", prompt_tokens},
              {"completion_tokens", completion_tokens},
              {"total_tokens", prompt_tokens + completion_tokens},
              {"prompt_tokens_details", {{"cached_tokens", cached_tokens}}}};
}

Json RouteInfo::json() const {
  return Json{{"blocks_run", blocks_run},
              {"blocks", blocks},
              {"gates", gates},
              {"skip_pct", skip_pct},
              {"predicted_saving_pct", predicted_saving_pct}};
}

Json chat_completion(const ResponseHead& h, const std::string& content,
                     const std::vector<ToolCallOut>& calls, const std::string& finish,
                     const Usage& u, const RouteInfo& r) {
  Json msg = {{"role", "assistant"},
              {"content", calls.empty() ? Json(content) : null_if_empty(content)}};
  if (!calls.empty()) {
    Json tc = Json::array();
    for (const ToolCallOut& c : calls)
      tc.push_back({{"id", c.id},
                    {"type", "function"},
                    {"function", {{"name", c.name}, {"arguments", c.arguments}}}});
    msg["tool_calls"] = tc;
  }
  Json j = base(h, "chat.completion");
  j["choices"] = Json::array(
      {{{"index", 0}, {"message", msg}, {"logprobs", nullptr}, {"finish_reason", finish}}});
  j["usage"] = u.json();
  j["layerroute"] = r.json();
  return j;
}

Json chat_chunk(const ResponseHead& h, const Json& delta, const std::string& finish) {
  Json j = base(h, "chat.completion.chunk");
  j["choices"] = Json::array({{{"index", 0},
                               {"delta", delta},
                               {"logprobs", nullptr},
                               {"finish_reason", null_if_empty(finish)}}});
  return j;
}

Json usage_chunk(const ResponseHead& h, const char* object, const Usage& u, const RouteInfo& r) {
  Json j = base(h, object);
  j["choices"] = Json::array();
  j["usage"] = u.json();
  j["layerroute"] = r.json();
  return j;
}

Json text_completion(const ResponseHead& h, const std::string& text, const std::string& finish,
                     const Usage& u, const RouteInfo& r) {
  Json j = base(h, "text_completion");
  j["choices"] = Json::array(
      {{{"index", 0}, {"text", text}, {"logprobs", nullptr}, {"finish_reason", finish}}});
  j["usage"] = u.json();
  j["layerroute"] = r.json();
  return j;
}

Json text_chunk(const ResponseHead& h, const std::string& text, const std::string& finish) {
  Json j = base(h, "text_completion");
  j["choices"] = Json::array({{{"index", 0},
                               {"text", text},
                               {"logprobs", nullptr},
                               {"finish_reason", null_if_empty(finish)}}});
  return j;
}

Json model_list(const std::string& model, int64_t created) {
  return Json{{"object", "list"},
              {"data", Json::array({{{"id", model},
                                     {"object", "model"},
                                     {"created", created},
                                     {"owned_by", "layerroute"}}})}};
}

Json tool_call_start_delta(int index, const ToolCallOut& c) {
  return Json{{"tool_calls", Json::array({{{"index", index},
                                           {"id", c.id},
                                           {"type", "function"},
                                           {"function", {{"name", c.name}, {"arguments", ""}}}}})}};
}

Json tool_call_args_delta(int index, const std::string& arguments) {
  return Json{
      {"tool_calls", Json::array({{{"index", index}, {"function", {{"arguments", arguments}}}}})}};
}

std::string json_text(const Json& j) {
  // Replace rather than throw on invalid UTF-8: a reply is never lost to one bad byte.
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string sse_event(const Json& j) {
  return "data: " + json_text(j) + "\n\n";
}

}  // namespace lr::serve
