// Dataset loaders on the real samples in ../shared/data (skipped when absent), malformed
// rows on small fixtures, loss-mask spans with a stand-in renderer/encoder, split, batch.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "core/error.h"
#include "temp_path.h"
#include "text/dataset.h"

namespace lr {
namespace {

namespace fs = std::filesystem;

std::string shared_data(const std::string& rel) {
  return std::string(LR_SHARED_DIR) + "/data/" + rel;
}

#define REQUIRE_SHARED(rel)                                                      \
  do {                                                                           \
    if (!fs::exists(shared_data(rel)))                                           \
      GTEST_SKIP() << "real sample " << shared_data(rel) << " is not available"; \
  } while (0)

// A file under the temp directory, removed with the fixture.
class TempFile {
 public:
  TempFile(const std::string& name, const std::string& text)
      : path_(
            (fs::temp_directory_path() / ("lr_dataset_" + std::to_string(::getpid()) + "_" + name))
                .string()) {
    std::ofstream(path_, std::ios::binary) << text;
  }
  ~TempFile() { fs::remove(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::vector<std::string> roles(const Sample& s) {
  std::vector<std::string> r;
  for (const Json& m : s.messages) r.push_back(m["role"].get<std::string>());
  return r;
}

using Roles = std::vector<std::string>;

TEST(DatasetSpec, ParsesEveryFormatAndNamesBadOnes) {
  EXPECT_EQ(DataSpec::parse("hermes:a.json").format, DataFormat::Hermes);
  EXPECT_EQ(DataSpec::parse("glaive:a.json").format, DataFormat::Glaive);
  EXPECT_EQ(DataSpec::parse("gsm8k:a.jsonl").format, DataFormat::Gsm8k);
  EXPECT_EQ(DataSpec::parse("turing:a.jsonl").format, DataFormat::Turing);
  DataSpec m = DataSpec::parse("messages:/x/y:z.jsonl");
  EXPECT_EQ(m.format, DataFormat::Messages);
  EXPECT_EQ(m.path, "/x/y:z.jsonl");  // only the first colon separates
  for (const char* bad : {"sharegpt:a.json", "a.json", "hermes:"}) {
    try {
      DataSpec::parse(bad);
      FAIL() << bad;
    } catch (const Error& e) {
      std::string msg = e.what();
      EXPECT_NE(msg.find(bad), std::string::npos) << msg;
      if (std::string(bad) != "hermes:") {
        EXPECT_NE(msg.find("hermes, glaive, gsm8k, turing, messages"), std::string::npos) << msg;
      }
    }
  }
}

TEST(DatasetHermes, RealCardExamples) {
  REQUIRE_SHARED("hermes_function_calling_v1/dataset_card_examples.json");
  LoadReport rep;
  auto v = load_dataset(DataSpec::parse("hermes:" + shared_data("hermes_function_calling_v1/"
                                                                "dataset_card_examples.json")),
                        0, &rep);
  ASSERT_EQ(v.size(), 4u);
  EXPECT_EQ(rep.rows, 4u);
  EXPECT_EQ(rep.malformed, 0u);
  EXPECT_EQ(rep.repaired, 2u);  // a Python-literal call; a name nested in arguments
  for (const Sample& s : v) EXPECT_EQ(s.label, StepLabel::ToolCall);

  const Sample& a = v[0];
  EXPECT_EQ(roles(a), (Roles{"system", "user", "assistant", "tool", "assistant"}));
  EXPECT_TRUE(a.tools.is_null());  // the schemas stay inside the system prompt
  EXPECT_NE(a.messages[0]["content"].get<std::string>().find("<tools>"), std::string::npos);
  const Json& call = a.messages[2]["tool_calls"].at(0);
  EXPECT_EQ(call["type"], "function");
  EXPECT_EQ(call["function"]["name"], "search_flights");
  const Json& args = call["function"]["arguments"];
  EXPECT_EQ(args["departure_city"], "Los Angeles");
  EXPECT_EQ(args["destination_city"], "Auckland");
  EXPECT_EQ(args["flexible_cancellation"], true);
  EXPECT_EQ(a.messages[2]["content"], "");
  EXPECT_TRUE(a.messages[3]["content"].get<std::string>().starts_with(
      "{\"name\": \"search_flights\", \"content\": {\"flights\""));
  EXPECT_TRUE(a.messages[4]["content"].get<std::string>().starts_with("Here are the available"));
  EXPECT_EQ(a.origin, rep.path + ":1");

  // The card writes this call with escaped "\\n" and the name nested in its arguments.
  const Json& call2 = v[1].messages[2]["tool_calls"].at(0)["function"];
  EXPECT_EQ(call2["name"], "ExpertQAExtractor");
  EXPECT_EQ(call2["arguments"]["queries"].size(), 3u);
  EXPECT_FALSE(call2["arguments"].contains("name"));

  // JSON-mode records: plain assistant JSON text, no tool call.
  EXPECT_EQ(roles(v[2]), (Roles{"system", "user", "assistant"}));
  EXPECT_FALSE(v[2].messages[2].contains("tool_calls"));
  EXPECT_TRUE(v[2].messages[2]["content"].get<std::string>().starts_with("{\"movieId\""));
}

TEST(DatasetGlaive, RealOriginalRecords) {
  REQUIRE_SHARED("glaive_function_calling_v2/dataflow_chat_data.jsonl");
  LoadReport rep;
  auto v = load_dataset(
      DataSpec::parse("glaive:" +
                      shared_data("glaive_function_calling_v2/dataflow_chat_data.jsonl")),
      0, &rep);
  ASSERT_EQ(v.size(), 5u);
  EXPECT_EQ(rep.malformed, 0u);
  EXPECT_EQ(rep.repaired, 0u);

  EXPECT_EQ(roles(v[0]), (Roles{"system", "user", "assistant"}));
  EXPECT_EQ(v[0].messages[1]["content"], "Can you book a flight for me from New York to London?");
  EXPECT_TRUE(v[0].messages[2]["content"].get<std::string>().ends_with("feel free to ask!"));

  const Sample& s = v[1];
  EXPECT_EQ(s.label, StepLabel::ToolCall);
  EXPECT_EQ(s.messages[0]["content"],
            "You are a helpful assistant with access to the following functions. Use them if "
            "required");
  ASSERT_EQ(s.tools.size(), 1u);
  EXPECT_EQ(s.tools[0]["type"], "function");
  EXPECT_EQ(s.tools[0]["function"]["name"], "get_news_headlines");
  EXPECT_EQ(roles(s), (Roles{"system", "user", "assistant", "tool", "assistant", "user",
                             "assistant", "tool", "assistant"}));
  const Json& call = s.messages[2]["tool_calls"].at(0)["function"];
  EXPECT_EQ(call["name"], "get_news_headlines");
  EXPECT_EQ(call["arguments"], Json::parse(R"({"country": "United States"})"));
  EXPECT_EQ(s.messages[2]["content"], "");
  EXPECT_TRUE(s.messages[3]["content"].get<std::string>().starts_with("{\"headlines\": ["));
  EXPECT_EQ(s.messages[6]["tool_calls"][0]["function"]["arguments"]["country"], "France");
  for (const Sample& x : v)
    for (const Json& m : x.messages)
      EXPECT_EQ(m["content"].get<std::string>().find("<|endoftext|>"), std::string::npos);

  // Two concatenated schemas in one system prompt; a boolean inside quoted arguments.
  ASSERT_EQ(v[2].tools.size(), 2u);
  EXPECT_EQ(v[2].tools[1]["function"]["name"], "create_task");
  EXPECT_EQ(v[2].messages[4]["tool_calls"][0]["function"]["arguments"],
            Json::parse(R"({"length": 12, "include_symbols": true})"));

  // The JSON-array copy of the same records reads identically.
  auto w = load_dataset(
      DataSpec::parse(
          "glaive:" +
          shared_data("glaive_function_calling_v2/glaive-function-calling-v2.5rows.json")),
      0, nullptr);
  ASSERT_EQ(w.size(), v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    EXPECT_EQ(w[i].messages, v[i].messages) << i;
    EXPECT_EQ(w[i].tools, v[i].tools) << i;
  }
}

TEST(DatasetGlaive, RealDerivedLayout) {
  REQUIRE_SHARED("glaive_toolcall_llamafactory_derived/glaive_toolcall_en_demo.shared.json");
  LoadReport rep;
  auto v = load_dataset(DataSpec::parse("glaive:" + shared_data("glaive_toolcall_llamafactory_"
                                                                "derived/glaive_toolcall_en_demo."
                                                                "shared.json")),
                        0, &rep);
  ASSERT_EQ(v.size(), 101u);
  EXPECT_EQ(rep.malformed, 0u);
  size_t with_tools = 0;
  for (const Sample& s : v) with_tools += !s.tools.is_null();
  EXPECT_EQ(with_tools, 78u);  // as SOURCE.md counts ("[]" means none)
  const Sample& s = v[0];
  EXPECT_EQ(roles(s), (Roles{"user", "assistant", "user", "assistant", "tool", "assistant", "user",
                             "assistant"}));
  EXPECT_EQ(s.tools[0]["function"]["name"], "search_recipes");
  const Json& call = s.messages[3]["tool_calls"].at(0)["function"];
  EXPECT_EQ(call["name"], "search_recipes");
  EXPECT_EQ(call["arguments"]["ingredients"],
            Json::parse(R"(["chicken", "bell peppers", "rice"])"));

  auto e = load_dataset(DataSpec::parse("glaive:" + shared_data("glaive_toolcall_llamafactory_"
                                                                "derived/glaive_toolcall_en_demo."
                                                                "eval.json")),
                        0, &rep);
  EXPECT_EQ(e.size(), 164u);
  EXPECT_EQ(rep.malformed, 0u);
}

TEST(DatasetGsm8k, RealTrainAndTestSlices) {
  REQUIRE_SHARED("gsm8k/train_first3000.jsonl");
  LoadReport rep;
  auto v =
      load_dataset(DataSpec::parse("gsm8k:" + shared_data("gsm8k/train_first3000.jsonl")), 0, &rep);
  EXPECT_EQ(v.size(), 3000u);
  EXPECT_EQ(rep.rows, 3000u);
  EXPECT_EQ(rep.malformed, 0u);
  EXPECT_EQ(roles(v[0]), (Roles{"user", "assistant"}));
  EXPECT_EQ(v[0].messages[0]["content"],
            "Natalia sold clips to 48 of her friends in April, and then she sold half as many "
            "clips in May. How many clips did Natalia sell altogether in April and May?");
  EXPECT_TRUE(v[0].messages[1]["content"].get<std::string>().ends_with("#### 72"));
  EXPECT_EQ(v[0].label, StepLabel::Planning);
  EXPECT_TRUE(v[0].tools.is_null());

  auto capped =
      load_dataset(DataSpec::parse("gsm8k:" + shared_data("gsm8k/test_first200.jsonl")), 10, &rep);
  EXPECT_EQ(capped.size(), 10u);
  EXPECT_EQ(rep.rows, 10u);
  EXPECT_EQ(
      load_dataset(DataSpec::parse("gsm8k:" + shared_data("gsm8k/test_first200.jsonl")), 0, nullptr)
          .size(),
      200u);
}

TEST(DatasetTuring, JsonArrayAndJsonl) {
  TempFile arr("turing.json",
               R"([{"question": "Q1", "answer": "A1"}, {"question": "Q2", "answer": "A2"}])");
  TempFile lines("turing.jsonl",
                 "{\"question\": \"Q1\", \"answer\": \"A1\"}\r\n\n"
                 "{\"question\": \"Q2\", \"answer\": \"A2\"}");
  for (const TempFile* f : {&arr, &lines}) {
    LoadReport rep;
    auto v = load_dataset(DataSpec::parse("turing:" + f->path()), 0, &rep);
    ASSERT_EQ(v.size(), 2u) << f->path();
    EXPECT_EQ(rep.rows, 2u);
    EXPECT_EQ(v[1].messages[0]["content"], "Q2");
    EXPECT_EQ(v[1].messages[1]["content"], "A2");
    EXPECT_EQ(v[1].label, StepLabel::Planning);
  }
}

TEST(DatasetMessages, LabelsFromToolCalls) {
  TempFile f(
      "messages.jsonl",
      R"({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}
{"messages": [{"role": "user", "content": "w?"}, {"role": "assistant", "content": null, "tool_calls": [{"type": "function", "function": {"name": "weather", "arguments": "{\"city\": \"Oslo\"}"}}]}, {"role": "tool", "content": "cold"}], "tools": [{"type": "function", "function": {"name": "weather"}}]}
{"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "<tool_call>\n{\"name\": \"f\"}\n</tool_call>"}]}
{"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "ok", "tool_calls": []}]}
)");
  LoadReport rep;
  auto v = load_dataset(DataSpec::parse("messages:" + f.path()), 0, &rep);
  ASSERT_EQ(v.size(), 4u);
  EXPECT_EQ(rep.malformed, 0u);
  EXPECT_EQ(v[0].label, StepLabel::Planning);
  EXPECT_EQ(v[1].label, StepLabel::ToolCall);
  EXPECT_EQ(v[2].label, StepLabel::ToolCall);
  EXPECT_EQ(v[3].label, StepLabel::Planning);  // an empty tool_calls list is no call
  EXPECT_EQ(v[1].messages[1]["content"], "");
  EXPECT_EQ(v[1].messages[1]["tool_calls"][0]["function"]["arguments"]["city"], "Oslo");
  EXPECT_EQ(v[1].tools.size(), 1u);
  EXPECT_EQ(std::string(step_label_name(v[1].label)), "tool_call");
  EXPECT_EQ(std::string(step_label_name(v[0].label)), "planning");
}

// Each malformed kind is counted and reported as FILE:ROW, and the good rows still load.
struct BadRowCase {
  const char* format;
  const char* text;
  size_t good;
  std::vector<std::pair<int, const char*>> bad;  // row, phrase in the reason
};

TEST(DatasetMalformed, CountedAndReportedWithRowNumbers) {
  const std::vector<BadRowCase> cases = {
      {"gsm8k",
       "{\"question\": \"q\", \"answer\": \"a\"}\nnot json\n{\"question\": 5, \"answer\": \"a\"}\n"
       "{\"answer\": \"a\"}\n\n[1, 2]\n{\"question\": \"q\", \"answer\": \"a\"}\n",
       2,
       {{2, "not valid JSON"},
        {3, "not a string"},
        {4, "missing field \"question\""},
        {6, "not a JSON object"}}},
      {"hermes",
       R"([{"conversations": []}, {"conversations": [{"from": "human", "value": "x"}, {"from": "robot", "value": "y"}]},
           {"id": 1}, {"conversations": [{"from": "human", "value": 3}]},
           {"conversations": [{"from": "human", "value": "x"}]},
           {"conversations": [{"from": "human", "value": "x"}, {"from": "gpt", "value": "y"}]}])",
       1,
       {{1, "empty conversation"},
        {2, "unknown role \"robot\""},
        {3, "missing field"},
        {4, "not a string"},
        {5, "no assistant turn"}}},
      {"glaive",
       R"([{"system": "SYSTEM: hi", "chat": ""}, {"chat": "hello\n\nASSISTANT: x"}, {"chat": 7},
           {"other": 1}, {"conversations": [{"from": "human", "value": "x"}, {"from": "function_call", "value": "nope"}]},
           {"chat": "USER: a\n\n\nASSISTANT: b <|endoftext|>"}])",
       1,
       {{1, "empty conversation"},
        {2, "does not start with"},
        {3, "not a string"},
        {4, "neither"},
        {5, "function_call is not a JSON object"}}},
      {"messages",
       "{\"messages\": [{\"role\": \"wizard\", \"content\": \"x\"}]}\n"
       "{\"messages\": [{\"role\": \"user\", \"content\": 5}]}\n"
       "{\"messages\": []}\n{\"messages\": \"hi\"}\n"
       "{\"messages\": [{\"role\": \"user\", \"content\": \"a\"}, {\"role\": \"assistant\", "
       "\"content\": \"b\"}]}\n",
       1,
       {{1, "unknown role"},
        {2, "\"content\" is not a string"},
        {3, "empty conversation"},
        {4, "not a list"}}},
  };
  for (const BadRowCase& c : cases) {
    TempFile f(std::string("bad_") + c.format, c.text);
    LoadReport rep;
    auto v = load_dataset(DataSpec::parse(std::string(c.format) + ":" + f.path()), 0, &rep);
    SCOPED_TRACE(c.format);
    EXPECT_EQ(v.size(), c.good);
    EXPECT_EQ(rep.loaded, c.good);
    EXPECT_EQ(rep.malformed, c.bad.size());
    EXPECT_EQ(rep.rows, c.good + c.bad.size());
    ASSERT_EQ(rep.errors.size(), std::min<size_t>(5, c.bad.size()));
    for (size_t i = 0; i < rep.errors.size(); ++i) {
      std::string prefix = f.path() + ":" + std::to_string(c.bad[i].first) + ": ";
      EXPECT_TRUE(rep.errors[i].starts_with(prefix)) << rep.errors[i];
      EXPECT_NE(rep.errors[i].find(c.bad[i].second), std::string::npos) << rep.errors[i];
    }
  }
}

TEST(DatasetMalformed, OnlyFiveErrorLinesKept) {
  std::string text;
  for (int i = 0; i < 8; ++i) text += "oops\n";
  TempFile f("many_bad.jsonl", text);
  LoadReport rep;
  EXPECT_TRUE(load_dataset(DataSpec::parse("gsm8k:" + f.path()), 0, &rep).empty());
  EXPECT_EQ(rep.malformed, 8u);
  EXPECT_EQ(rep.errors.size(), 5u);
}

TEST(DatasetFiles, MissingOrUnparseableFileIsAnError) {
  const std::string missing = test::temp_path("lr_no_such_dataset.jsonl").string();
  try {
    load_dataset(DataSpec::parse("gsm8k:" + missing), 0, nullptr);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
  }
  TempFile broken("broken.json", "[{\"conversations\": [}");
  try {
    load_dataset(DataSpec::parse("hermes:" + broken.path()), 0, nullptr);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(broken.path() + ": not valid JSON"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace lr
