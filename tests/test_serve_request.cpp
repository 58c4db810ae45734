// Request checking, response shapes, stop strings and the reply stream of `layerroute
// serve`: the parts between the HTTP body and the engine, without a model.
#include <gtest/gtest.h>

#include "serve/api_error.h"
#include "serve/openai_shapes.h"
#include "serve/reply_stream.h"
#include "serve/request.h"
#include "serve/stop_strings.h"

namespace lr::serve {
namespace {

const int kL = 4;

// The ApiError a chat body earns ("" param when none expected).
ApiError chat_error(const std::string& body_text) {
  try {
    (void)parse_chat_request(parse_body(body_text), kL);
  } catch (const ApiError& e) {
    return e;
  }
  ADD_FAILURE() << "accepted: " << body_text;
  return ApiError(0, "", "", "", "");
}

Json user(const std::string& text) {
  return Json{{"role", "user"}, {"content", text}};
}

TEST(ServeRequest, BadBodiesAre400WithTheField) {
  struct Case {
    std::string body, param;
  };
  const std::vector<Case> cases = {
      {"{not json", ""},
      {"[1,2]", ""},
      {"{}", "messages"},
      {R"({"messages": "hi"})", "messages"},
      {R"({"messages": []})", "messages"},
      {R"({"messages": [{"role": "wizard", "content": "x"}]})", "messages[0].role"},
      {R"({"messages": [{"role": "user"}]})", "messages[0].content"},
      {R"({"messages": [{"role": "user", "content": 5}]})", "messages[0].content"},
      {R"({"messages": [{"role": "tool", "content": "r", "tool_call_id": "c"}]})", "messages[0]"},
      {R"({"messages": [{"role": "user", "content": "x"}, {"role": "tool", "content": "r",
           "tool_call_id": "c"}]})",
       "messages[1]"},
      {R"({"messages": [{"role": "assistant", "content": null, "tool_calls": [{"id": "a",
           "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
           {"role": "tool", "content": "r", "tool_call_id": "b"}]})",
       "messages[1].tool_call_id"},
      {R"({"messages": [{"role": "assistant", "content": null, "tool_calls": [{"id": "a",
           "type": "function", "function": {"name": "f", "arguments": "{bad"}}]}]})",
       "messages[0].tool_calls[0].function.arguments"},
      {R"({"messages": [{"role": "user", "content": "x"}], "n": 2})", "n"},
      {R"({"messages": [{"role": "user", "content": "x"}], "temperature": "hot"})", "temperature"},
      {R"({"messages": [{"role": "user", "content": "x"}], "temperature": 3})", "temperature"},
      {R"({"messages": [{"role": "user", "content": "x"}], "max_tokens": 0})", "max_tokens"},
      {R"({"messages": [{"role": "user", "content": "x"}], "max_tokens": 1.5})", "max_tokens"},
      {R"({"messages": [{"role": "user", "content": "x"}], "stop": 3})", "stop"},
      {R"({"messages": [{"role": "user", "content": "x"}], "stop": ["a","b","c","d","e"]})",
       "stop"},
      {R"({"messages": [{"role": "user", "content": "x"}], "stream": "yes"})", "stream"},
      {R"({"messages": [{"role": "user", "content": "x"}], "stream_options": {"include_usage": true}})",
       "stream_options"},
      {R"({"messages": [{"role": "user", "content": "x"}], "tools": {}})", "tools"},
      {R"({"messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function"}]})",
       "tools[0]"},
      {R"({"messages": [{"role": "user", "content": "x"}], "tool_choice": "required"})",
       "tool_choice"},
      {R"({"messages": [{"role": "user", "content": "x"}], "tool_choice": "sometimes"})",
       "tool_choice"},
      {R"({"messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function",
           "function": {"name": "f"}}], "tool_choice": {"type": "function", "function": {"name": "g"}}})",
       "tool_choice"},
      {R"({"messages": [{"role": "user", "content": "x"}], "layerroute": {"gates": "mask:101"}})",
       "layerroute.gates"},
      {R"({"messages": [{"role": "user", "content": "x"}], "layerroute": {"gates": "sometimes"}})",
       "layerroute.gates"},
      {R"({"messages": [{"role": "user", "content": "x"}], "logprobs": true})", "logprobs"},
  };
  for (const Case& c : cases) {
    const ApiError e = chat_error(c.body);
    EXPECT_EQ(e.status, 400) << c.body;
    EXPECT_EQ(e.type, "invalid_request_error") << c.body;
    EXPECT_EQ(e.param, c.param) << c.body << " -> " << e.what();
    EXPECT_FALSE(std::string(e.what()).empty());
  }
}

TEST(ServeRequest, ErrorObjectShape) {
  const ApiError e = chat_error(R"({"messages": [], "model": "m"})");
  const Json j = error_body(e);
  ASSERT_TRUE(j.contains("error"));
  EXPECT_EQ(j["error"]["type"], "invalid_request_error");
  EXPECT_EQ(j["error"]["param"], "messages");
  EXPECT_TRUE(j["error"]["code"].is_null());
  EXPECT_TRUE(j["error"]["message"].is_string());
}

TEST(ServeRequest, FieldsAreRead) {
  const Json body = {
      {"model", "m"},
      {"messages",
       Json::array(
           {Json{{"role", "developer"}, {"content", "sys"}},
            Json{{"role", "user"},
                 {"content", Json::array({{{"type", "text"}, {"text", "a"}},
                                          {{"type", "text"}, {"text", "b"}}})}},
            Json{{"role", "assistant"},
                 {"content", nullptr},
                 {"tool_calls",
                  Json::array({{{"id", "call_1"},
                                {"type", "function"},
                                {"function", {{"name", "f"}, {"arguments", "{\"x\": 1}"}}}}})}},
            Json{{"role", "tool"}, {"tool_call_id", "call_1"}, {"content", "42"}}})},
      {"tools", Json::array({{{"type", "function"}, {"function", {{"name", "f"}}}}})},
      {"tool_choice", {{"type", "function"}, {"function", {{"name", "f"}}}}},
      {"max_completion_tokens", 7},
      {"max_tokens", 99},
      {"temperature", 0},
      {"top_p", 0.5},
      {"top_k", 3},
      {"seed", 11},
      {"stop", "END"},
      {"stream", true},
      {"stream_options", {{"include_usage", true}}},
      {"response_format", {{"type", "json_object"}}},
      {"layerroute", {{"gates", "mask:1011"}}}};
  const GenRequest r = parse_chat_request(body, kL);
  EXPECT_EQ(r.messages[0]["role"], "system");
  EXPECT_EQ(r.messages[1]["content"], "ab");
  EXPECT_EQ(r.messages[2]["tool_calls"][0]["function"]["arguments"], Json({{"x", 1}}));
  EXPECT_EQ(r.tool_choice, ToolChoice::Function);
  EXPECT_EQ(r.tool_name, "f");
  EXPECT_EQ(r.max_tokens, 7);
  EXPECT_EQ(r.sampler.temperature, 0.f);
  EXPECT_EQ(r.sampler.top_k, 3);
  EXPECT_FLOAT_EQ(r.sampler.top_p, 0.5f);
  EXPECT_TRUE(r.seeded);
  EXPECT_EQ(r.sampler.seed, 11u);
  EXPECT_EQ(r.stop, std::vector<std::string>{"END"});
  EXPECT_TRUE(r.stream);
  EXPECT_TRUE(r.include_usage);
  ASSERT_TRUE(r.gates.has_value());
  EXPECT_EQ(r.gates->str(), "mask:1011");
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_TRUE(r.parse_tools());
  EXPECT_EQ(forced_prefix(r), "<tool_call>\n{\"name\": \"f\", \"arguments\": ");

  // The history renders exactly as the template prints a call: arguments via tojson.
  const std::string text = prompt_text(r, ChatTemplate::qwen25());
  EXPECT_NE(text.find("<tool_call>\n{\"name\": \"f\", \"arguments\": {\"x\": 1}}\n</tool_call>"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("<tool_response>\n42\n</tool_response>"), std::string::npos) << text;
  EXPECT_EQ(text.substr(text.size() - forced_prefix(r).size()), forced_prefix(r));
}

TEST(ServeRequest, ToolChoiceNoneRendersWithoutTools) {
  Json body = {{"messages", Json::array({user("hi")})},
               {"tools", Json::array({{{"type", "function"}, {"function", {{"name", "f"}}}}})}};
  GenRequest r = parse_chat_request(body, kL);
  EXPECT_NE(prompt_text(r, ChatTemplate::qwen25()).find("<tools>"), std::string::npos);
  EXPECT_EQ(r.sampler.temperature, 1.f);  // OpenAI's default
  EXPECT_EQ(r.max_tokens, -1);
  body["tool_choice"] = "none";
  r = parse_chat_request(body, kL);
  EXPECT_FALSE(r.parse_tools());
  EXPECT_EQ(prompt_text(r, ChatTemplate::qwen25()).find("<tools>"), std::string::npos);
  body["tool_choice"] = "required";
  r = parse_chat_request(body, kL);
  EXPECT_EQ(forced_prefix(r), "<tool_call>\n{\"name\": \"");
}

TEST(ServeRequest, Completions) {
  GenRequest r = parse_completion_request(Json{{"prompt", "abc"}, {"max_tokens", 3}}, kL);
  EXPECT_FALSE(r.chat);
  EXPECT_EQ(prompt_text(r, ChatTemplate::qwen25()), "abc");
  for (const char* b : {R"({})", R"({"prompt": 3})", R"({"prompt": ""})",
                        R"({"prompt": "a", "echo": true})", R"({"prompt": ["a", "b"]})"}) {
    EXPECT_THROW((void)parse_completion_request(parse_body(b), kL), ApiError) << b;
  }
}

// Strangers' bodies nested 100,000 deep: a 400, never a value deep enough that copying
// it (tool-call arguments are copied into the request) overflows the stack.
TEST(ServeRequest, DeeplyNestedBodyIs400) {
  const size_t n = 100000;
  const std::string deep = std::string(n, '[') + std::string(n, ']');
  std::string args;
  for (size_t i = 0; i < n; ++i) args += "{\"a\":";
  args += "1" + std::string(n, '}');
  const std::string head =
      R"({"messages": [{"role": "assistant", "content": null, "tool_calls": [{"id": "a", )"
      R"("type": "function", "function": {"name": "f", "arguments": )";
  const std::string tail = "}}]}]}";
  for (const std::string& b :
       {R"({"messages": )" + deep + "}", head + args + tail, head + Json(args).dump() + tail}) {
    const ApiError e = chat_error(b);
    EXPECT_EQ(e.status, 400);
    EXPECT_NE(std::string(e.what()).find("nests deeper than 256 levels"), std::string::npos)
        << e.what();
  }
  // 256 levels are still a body (the head opens 6).
  std::string ok;
  for (size_t i = 0; i + 6 < kMaxJsonDepth; ++i) ok += "{\"a\":";
  ok += "1" + std::string(kMaxJsonDepth - 6, '}');
  EXPECT_NO_THROW((void)parse_chat_request(parse_body(head + ok + tail), kL));
}

TEST(ServeShapes, ChatCompletionAndChunks) {
  const ResponseHead h{"chatcmpl-1", 123, "m"};
  Usage u;
  u.prompt_tokens = 5;
  u.completion_tokens = 2;
  RouteInfo ri{3, 4, "1011", 25.0, 20.0};
  Json c = chat_completion(h, "hello", {}, "stop", u, ri);
  EXPECT_EQ(c["object"], "chat.completion");
  EXPECT_EQ(c["id"], "chatcmpl-1");
  EXPECT_EQ(c["created"], 123);
  EXPECT_EQ(c["choices"][0]["message"]["content"], "hello");
  EXPECT_EQ(c["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(c["usage"]["total_tokens"], 7);
  EXPECT_EQ(c["layerroute"]["gates"], "1011");
  EXPECT_EQ(c["layerroute"]["blocks_run"], 3);
  EXPECT_FALSE(c["choices"][0]["message"].contains("tool_calls"));

  c = chat_completion(h, "", {{"call_x", "f", "{}"}}, "tool_calls", u, ri);
  EXPECT_TRUE(c["choices"][0]["message"]["content"].is_null());
  EXPECT_EQ(c["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"], "{}");
  EXPECT_EQ(c["choices"][0]["message"]["tool_calls"][0]["type"], "function");

  Json k = chat_chunk(h, Json{{"content", "x"}}, "");
  EXPECT_EQ(k["object"], "chat.completion.chunk");
  EXPECT_TRUE(k["choices"][0]["finish_reason"].is_null());
  EXPECT_EQ(sse_event(k).substr(0, 6), "data: ");
  EXPECT_EQ(sse_event(k).substr(sse_event(k).size() - 2), "\n\n");
  Json uc = usage_chunk(h, "chat.completion.chunk", u, ri);
  EXPECT_TRUE(uc["choices"].empty());
  EXPECT_EQ(uc["usage"]["prompt_tokens"], 5);
  EXPECT_EQ(text_completion(h, "t", "length", u, ri)["object"], "text_completion");
  EXPECT_EQ(model_list("m", 0)["data"][0]["id"], "m");
  // Invalid UTF-8 is replaced, never a throw.
  EXPECT_NO_THROW((void)json_text(Json{{"s", std::string("\xff")}}));
}

TEST(ServeStopStrings, HeldBackAndCut) {
  StopStrings s({"END", "xyz"});
  EXPECT_EQ(s.push("abc E"), "abc ");
  EXPECT_EQ(s.push("N"), "");
  EXPECT_EQ(s.push("x"), "EN");         // "x" may start "xyz"
  EXPECT_EQ(s.push("yzEND tail"), "");  // "xyz" comes first
  EXPECT_TRUE(s.stopped());
  EXPECT_EQ(s.push("more"), "");
  StopStrings t({"END"});
  EXPECT_EQ(t.push("aE"), "a");
  EXPECT_EQ(t.finish(), "E");
  EXPECT_FALSE(t.stopped());
}

TEST(ServeReplyStream, ToolCallDeltasAndContent) {
  int n = 0;
  auto ids = [&] { return "call_" + std::to_string(n++); };
  ReplyStream rs({}, true, "", ids);
  std::vector<Json> all;
  const std::string text =
      "<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": 1}}\n</tool_call>\n<tool_call>\n{"
      "\"name\": \"g\", \"arguments\": {}}\n</tool_call>";
  for (char c : text)
    for (Json& d : rs.push(std::string(1, c))) all.push_back(d);
  for (Json& d : rs.finish()) all.push_back(d);
  // No content at all: whitespace between calls is layout.
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[0]["tool_calls"][0]["index"], 0);
  EXPECT_EQ(all[0]["tool_calls"][0]["id"], "call_0");
  EXPECT_EQ(all[0]["tool_calls"][0]["function"]["name"], "f");
  EXPECT_EQ(all[1]["tool_calls"][0]["function"]["arguments"], "{\"a\": 1}");
  EXPECT_EQ(all[2]["tool_calls"][0]["index"], 1);
  EXPECT_EQ(rs.content(), "");
  ASSERT_EQ(rs.calls().size(), 2u);
  EXPECT_EQ(rs.calls()[1].name, "g");

  // A forced prefix (tool_choice naming f) is parsed, never shown.
  ReplyStream forced({}, true, "<tool_call>\n{\"name\": \"f\", \"arguments\": ", ids);
  std::vector<Json> d = forced.push("{\"q\": \"x\"}}\n</tool_call>");
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[1]["tool_calls"][0]["function"]["arguments"], "{\"q\": \"x\"}");

  // Stop strings cut before tool parsing; without tools, tags are plain content.
  ReplyStream plain({"STOP"}, false, "", ids);
  std::string got;
  for (Json& x : plain.push("<tool_call>hi STO")) got += x["content"].get<std::string>();
  for (Json& x : plain.push("P more")) got += x["content"].get<std::string>();
  EXPECT_TRUE(plain.stopped());
  EXPECT_EQ(got, "<tool_call>hi ");
}

}  // namespace
}  // namespace lr::serve
