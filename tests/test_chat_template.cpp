// The chat template against the reference renderer (jinja2 with transformers' settings),
// the json.dumps-compatible serializer, and template selection from model directories.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "core/child_process.h"
#include "core/error.h"
#include "temp_path.h"
#include "text/chat_template.h"
#include "text/py_json.h"

namespace lr {
namespace {

namespace fs = std::filesystem;

const fs::path kFixtureDir = fs::path(LR_SHARED_DIR) / "fixtures" / "chat-template";

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  EXPECT_TRUE(f) << "cannot read " << p;
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

void spit(const fs::path& p, const std::string& s) {
  std::ofstream f(p, std::ios::binary);
  f << s;
}

// A fresh directory per call, removed by the caller's TempDir.
struct TempDir {
  fs::path path;
  TempDir() {
    static int n = 0;
    path = fs::temp_directory_path() /
           ("lr_chat_test_" + std::to_string(getpid()) + "_" + std::to_string(n++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// Debian's /usr/bin/python3 has jinja2 from python3-jinja2; a PATH python may not.
std::string python_with_jinja2() {
  for (const std::string& py : {std::string("/usr/bin/python3"), find_program("python3")}) {
    if (py.empty() || !fs::exists(py)) continue;
    if (run_child({py, "-c", "import jinja2"}, {ChildStream::Discard, ChildStream::Discard}).ok())
      return py;
  }
  return "";
}

std::string shown(const std::string& s) {
  return py_json_dumps(Json(s));
}

// Where two renderings first differ, with context, escaped so whitespace is visible.
std::string diff_location(const std::string& want, const std::string& got) {
  size_t i = 0;
  while (i < want.size() && i < got.size() && want[i] == got[i]) ++i;
  size_t line = 1 + static_cast<size_t>(std::count(want.begin(), want.begin() + i, '\n'));
  size_t from = i > 40 ? i - 40 : 0;
  std::ostringstream os;
  os << "first difference at byte " << i << " (line " << line << "), sizes " << want.size()
     << " vs " << got.size() << "\n  render.py: ..." << shown(want.substr(from, 100))
     << "\n  ours:      ..." << shown(got.substr(from, 100));
  return os.str();
}

Json parse_line(const std::string& line) {
  return Json::parse(line);
}

std::vector<std::string> read_lines(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::vector<std::string> out;
  for (std::string l; std::getline(f, l);)
    if (!l.empty()) out.push_back(l);
  return out;
}

std::string render_case(const ChatTemplate& t, const Json& c) {
  return t.render(c["messages"], c.contains("tools") ? c["tools"] : Json(),
                  c.value("add_generation_prompt", false));
}

// ---------------------------------------------------------------- py_json

TEST(ChatTemplatePyJson, FloatsLikePythonRepr) {
  const std::pair<double, const char*> cases[] = {
      {1.0, "1.0"},
      {0.1, "0.1"},
      {0.1 + 0.2, "0.30000000000000004"},
      {2.5, "2.5"},
      {-2.5, "-2.5"},
      {0.0, "0.0"},
      {-0.0, "-0.0"},
      {1e-7, "1e-07"},
      {1e-5, "1e-05"},
      {0.0001, "0.0001"},
      {-1.2345e-7, "-1.2345e-07"},
      {1e16, "1e+16"},
      {1.5e16, "1.5e+16"},
      {1e15, "1000000000000000.0"},
      {9999999999999998.0, "9999999999999998.0"},
      {123456789012345678.0, "1.2345678901234568e+17"},
      {123.456, "123.456"},
      {1e22, "1e+22"},
      {1.5e300, "1.5e+300"},
      {5e-324, "5e-324"},
      {1.7976931348623157e308, "1.7976931348623157e+308"},
      {6.02e23, "6.02e+23"},
      {std::numeric_limits<double>::infinity(), "Infinity"},
      {-std::numeric_limits<double>::infinity(), "-Infinity"},
      {std::nan(""), "NaN"},
  };
  for (const auto& [x, want] : cases) EXPECT_EQ(py_float_repr(x), want) << want;
}

TEST(ChatTemplatePyJson, StringEscapesAndUnicode) {
  EXPECT_EQ(py_json_dumps(Json("a\"b\\c\nd\re\tf\bg\fh")), R"("a\"b\\c\nd\re\tf\bg\fh")");
  EXPECT_EQ(py_json_dumps(Json(std::string("\x00\x01\x1f\x7f", 4))),
            std::string("\"\\u0000\\u0001\\u001f\x7f\""));
  EXPECT_EQ(py_json_dumps(Json("中文 😀 café / <tag>")), "\"中文 😀 café / <tag>\"");
  EXPECT_EQ(py_json_dumps(Json("\u2028\u0085")), "\"\u2028\u0085\"");
}

TEST(ChatTemplatePyJson, NestedValuesKeepOrderAndSeparators) {
  Json j = Json::parse(
      R"({"z": 1, "a": [1, -2, 2.50, true, false, null, {"b": "c"}, [], {}], "u": 18446744073709551615,
          "i": -9223372036854775808, "e": 1E2, "k": {"nested": {"x": -0.0}}})");
  EXPECT_EQ(py_json_dumps(j),
            R"({"z": 1, "a": [1, -2, 2.5, true, false, null, {"b": "c"}, [], {}], )"
            R"("u": 18446744073709551615, "i": -9223372036854775808, "e": 100.0, )"
            R"("k": {"nested": {"x": -0.0}}})");
  EXPECT_EQ(py_json_dumps(Json::array()), "[]");
  EXPECT_EQ(py_json_dumps(Json::object()), "{}");
  EXPECT_EQ(py_json_dumps(Json()), "null");
}

// ---------------------------------------------------------------- rendering

// A literal expectation, so the renderer is checked even where shared/ is absent.
TEST(ChatTemplateRender, ToolCallLiteral) {
  Json c = Json::parse(R"({"messages": [
      {"role": "user", "content": "hi"},
      {"role": "assistant", "content": null, "tool_calls": [
        {"type": "function", "function": {"name": "f", "arguments": {"x": 1.0}}},
        {"name": "g", "arguments": "{\"y\": 2}"}]},
      {"role": "tool", "content": "r1"}, {"role": "tool", "content": "r2"}],
    "tools": [{"name": "f"}], "add_generation_prompt": true})");
  const std::string want =
      "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful "
      "assistant.\n\n# Tools\n\nYou may call one or more functions to assist with the user "
      "query.\n\nYou are provided with function signatures within <tools></tools> XML "
      "tags:\n<tools>\n{\"name\": \"f\"}\n</tools>\n\nFor each function call, return a json "
      "object with function name and arguments within <tool_call></tool_call> XML "
      "tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": "
      "<args-json-object>}\n</tool_call><|im_end|>\n"
      "<|im_start|>user\nhi<|im_end|>\n"
      "<|im_start|>assistant\n<tool_call>\n{\"name\": \"f\", \"arguments\": {\"x\": "
      "1.0}}\n</tool_call>\n<tool_call>\n{\"name\": \"g\", \"arguments\": \"{\\\"y\\\": "
      "2}\"}\n</tool_call><|im_end|>\n"
      "<|im_start|>user\n<tool_response>\nr1\n</tool_response>\n<tool_response>\nr2\n"
      "</tool_response><|im_end|>\n<|im_start|>assistant\n";
  std::string got = render_case(ChatTemplate::qwen25(), c);
  EXPECT_TRUE(got == want) << diff_location(want, got);
}

TEST(ChatTemplateRender, ByteIdenticalToRenderPy) {
  const fs::path render_py = kFixtureDir / "render.py";
  const fs::path jinja = kFixtureDir / "qwen2.5-instruct.jinja";
  if (!fs::exists(render_py) || !fs::exists(jinja))
    GTEST_SKIP() << "no " << render_py << " (shared/ fixtures absent)";
  const std::string py = python_with_jinja2();
  if (py.empty()) GTEST_SKIP() << "no python3 with jinja2 (apt-get install python3-jinja2)";

  const fs::path cases = fs::path(LR_SOURCE_DIR) / "tests" / "data" / "chat_conversations.jsonl";
  const std::vector<std::string> lines = read_lines(cases);
  ASSERT_GE(lines.size(), 30u);
  TempDir tmp;
  const fs::path out = tmp.path / "rendered.jsonl";
  const ChildResult r = run_child({py, render_py.string(), jinja.string()},
                                  {ChildStream::Capture, ChildStream::Inherit, cases.string()});
  ASSERT_TRUE(r.ok()) << py << " " << render_py << ": " << r.status();
  spit(out, r.out);
  const std::vector<std::string> want = read_lines(out);
  ASSERT_EQ(want.size(), lines.size());

  const ChatTemplate t = ChatTemplate::from_template_text(slurp(jinja), jinja.string());
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string expect = parse_line(want[i])["text"].get<std::string>();
    std::string got;
    try {
      got = render_case(t, parse_line(lines[i]));
    } catch (const Error& e) {
      ADD_FAILURE() << "case " << i + 1 << ": " << e.what();
      continue;
    }
    // Not EXPECT_EQ: two whole prompts printed side by side hide where they differ.
    EXPECT_TRUE(got == expect) << "case " << i + 1 << " (line " << i + 1 << " of " << cases
                               << "): " << diff_location(expect, got);
  }
}

// Inputs where jinja fails, prints "None", or drops a message: a clear error instead.
TEST(ChatTemplateRender, RejectsNonsenseInputs) {
  const ChatTemplate t = ChatTemplate::qwen25();
  auto err = [&](const char* messages, const char* tools = "null") {
    try {
      t.render(Json::parse(messages), Json::parse(tools), true);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(err("[]").find("non-empty"), std::string::npos);
  EXPECT_NE(err(R"([{"role": "user", "content": null}])").find("messages[0] (user): content"),
            std::string::npos);
  EXPECT_NE(err(R"([{"role": "user"}])").find("got nothing"), std::string::npos);
  EXPECT_NE(err(R"([{"role": "user", "content": "a"}, {"role": "tool", "content": null}])")
                .find("messages[1] (tool)"),
            std::string::npos);
  EXPECT_NE(err(R"([{"role": "developer", "content": "x"}])").find("unknown role \"developer\""),
            std::string::npos);
  EXPECT_NE(err(R"([{"role": "user", "content": [{"type": "text"}]}])").find("got array"),
            std::string::npos);
  EXPECT_NE(err(R"([{"role": "system"}])", R"([{"name": "f"}])").find("messages[0] (system)"),
            std::string::npos);
  EXPECT_NE(err(R"([{"role": "user", "content": "x"}])", R"({"name": "f"})").find("tools must"),
            std::string::npos);
  EXPECT_NE(err(R"([{"role": "assistant", "tool_calls": [{"function": {"name": "f"}}]}])")
                .find("arguments missing"),
            std::string::npos);
  EXPECT_NE(err(R"([{"role": "assistant", "tool_calls": [{"function": null}]}])")
                .find("function must be an object"),
            std::string::npos);
  EXPECT_NE(err(R"([{"role": "assistant", "tool_calls": {"name": "f"}}])").find("tool_calls must"),
            std::string::npos);
}

// ---------------------------------------------------------------- selection

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(ChatTemplateSelect, RecognisesQwen25Text) {
  const fs::path jinja = kFixtureDir / "qwen2.5-instruct.jinja";
  if (!fs::exists(jinja)) GTEST_SKIP() << "no " << jinja << " (shared/ fixtures absent)";
  const std::string text = slurp(jinja);
  ChatTemplate t = ChatTemplate::from_template_text(text, "x");
  EXPECT_EQ(t.kind(), ChatTemplateKind::Qwen25);
  EXPECT_EQ(t.matched_by(), "exact");
  EXPECT_STREQ(t.name(), "qwen2.5");

  // Re-indented, trailing blanks, blank lines and CRLF line ends: prints the same (only
  // the text after the last tag is printed, and that stays one line end).
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  std::string reindented;
  for (size_t i = 0; i + 1 < lines.size(); ++i) reindented += "\t" + lines[i] + "  \r\n\r\n";
  reindented += "\t" + lines.back() + "\r\n";
  EXPECT_EQ(ChatTemplate::from_template_text(reindented, "x").matched_by(), "whitespace");
  // Trailing text after the last tag would be printed, so it is not "the same".
  EXPECT_NE(ChatTemplate::from_template_text(text + "\n\n", "x").matched_by(), "whitespace");

  // A variant that keeps every Qwen2.5 prompt string (e.g. an added comment).
  std::string variant = "{#- fine-tuned copy #}\n" + text;
  EXPECT_EQ(ChatTemplate::from_template_text(variant, "x").matched_by(), "markers");

  // A Qwen3-style template with reasoning is not Qwen2.5 even if it shares markers.
  std::string qwen3ish = text + "{%- if enable_thinking %}<think>\n{%- endif %}";
  EXPECT_NE(error_of([&] {
              ChatTemplate::from_template_text(qwen3ish, "m/tc.json");
            }).find("m/tc.json: chat template not supported (known: qwen2.5)"),
            std::string::npos);
}

TEST(ChatTemplateSelect, UnknownTemplateNamesThePath) {
  const std::string llama =
      "{% for message in messages %}{{ '<|start_header_id|>' + message['role'] + "
      "'<|end_header_id|>\\n\\n' + message['content'] + '<|eot_id|>' }}{% endfor %}";
  std::string e =
      error_of([&] { ChatTemplate::from_template_text(llama, "/m/tokenizer_config.json"); });
  EXPECT_NE(e.find("/m/tokenizer_config.json: chat template not supported (known: qwen2.5)"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("first line: \"{% for message in messages %}"), std::string::npos) << e;
}

TEST(ChatTemplateSelect, FromModelDir) {
  const fs::path jinja = kFixtureDir / "qwen2.5-instruct.jinja";
  if (!fs::exists(jinja)) GTEST_SKIP() << "no " << jinja << " (shared/ fixtures absent)";
  const std::string text = slurp(jinja);
  TempDir d;
  const fs::path cfg = d.path / "tokenizer_config.json";
  const std::string dir = d.path.string();

  // Missing file, then invalid JSON.
  EXPECT_NE(
      error_of([&] { ChatTemplate::from_model_dir(dir); }).find(cfg.string() + ": cannot read"),
      std::string::npos);
  spit(cfg, "{\"chat_template\": ");
  EXPECT_NE(error_of([&] { ChatTemplate::from_model_dir(dir); }).find("not valid JSON"),
            std::string::npos);

  // The string form, as Qwen2.5 ships it.
  Json j = {{"model_max_length", 131072}, {"chat_template", text}, {"eos_token", "<|im_end|>"}};
  spit(cfg, j.dump(2));
  ChatTemplate t = ChatTemplate::from_model_dir(dir);
  EXPECT_EQ(t.kind(), ChatTemplateKind::Qwen25);
  EXPECT_EQ(t.matched_by(), "exact");

  // The list form: "default" is taken.
  j["chat_template"] = Json::array({{{"name", "tool_use"}, {"template", "{{ nope }}"}},
                                    {{"name", "default"}, {"template", text}}});
  spit(cfg, j.dump());
  EXPECT_EQ(ChatTemplate::from_model_dir(dir).matched_by(), "exact");
  j["chat_template"] = Json::array({{{"name", "rag"}, {"template", text}}});
  spit(cfg, j.dump());
  EXPECT_NE(
      error_of([&] { ChatTemplate::from_model_dir(dir); }).find("no \"default\" entry (has: rag)"),
      std::string::npos);

  // An unknown template names the config file.
  j["chat_template"] = "{{ messages }}";
  spit(cfg, j.dump());
  EXPECT_NE(error_of([&] {
              ChatTemplate::from_model_dir(dir);
            }).find(cfg.string() + ": chat template not supported (known: qwen2.5)"),
            std::string::npos);

  // No key and no chat_template.jinja: a clear error; with the file: it is used.
  j.erase("chat_template");
  spit(cfg, j.dump());
  EXPECT_NE(error_of([&] {
              ChatTemplate::from_model_dir(dir);
            }).find(cfg.string() + ": no chat_template"),
            std::string::npos);
  spit(d.path / "chat_template.jinja", text);
  EXPECT_EQ(ChatTemplate::from_model_dir(dir).matched_by(), "exact");
}

}  // namespace
}  // namespace lr

namespace lr {
namespace {
// Models layerroute builds name their native template; anything else under that key fails.
TEST(ChatTemplateSelect, NativeTemplateKey) {
  const fs::path dir = test::temp_path("lr_native_template");
  fs::create_directories(dir);
  const fs::path cfg = dir / "tokenizer_config.json";
  std::ofstream(cfg) << R"({"layerroute_chat_template": "qwen2.5"})";
  ChatTemplate t = ChatTemplate::from_model_dir(dir.string());
  EXPECT_EQ(t.kind(), ChatTemplateKind::Qwen25);
  const Json msgs = Json::parse(R"([{"role": "user", "content": "Hi"}])");
  EXPECT_EQ(t.render(msgs, Json(), false),
            "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful "
            "assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n");
  std::ofstream(cfg) << R"({"layerroute_chat_template": "llama3"})";
  try {
    ChatTemplate::from_model_dir(dir.string());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(cfg.string()), std::string::npos) << e.what();
  }
}
}  // namespace
}  // namespace lr
