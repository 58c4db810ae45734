// Resource limits on hostile input: every reader refuses (with the one-line error) or
// handles within bounded memory what a stranger's file can claim: huge headers, sizes and
// counts, overlong rows, long chats, JSON nested arbitrarily deep.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "core/error.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "model/config.h"
#include "model/generation_config.h"
#include "temp_path.h"
#include "text/byte_level.h"
#include "text/chat_template.h"
#include "text/dataset.h"
#include "text/tokenizer.h"

namespace lr {
namespace {

namespace fs = std::filesystem;

// A private directory, removed with the fixture.
class TempDir {
 public:
  explicit TempDir(const std::string& tag) : dir_(test::temp_path("lr_limits_" + tag)) {
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  ~TempDir() { fs::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& bytes) const {
    const std::string p = (dir_ / name).string();
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
  }
  std::string path(const std::string& name = "") const { return (dir_ / name).string(); }

 private:
  fs::path dir_;
};

// The lr::Error message `fn` throws, or "" when it does not throw.
template <typename Fn>
std::string error_of(Fn fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::string nested(size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

std::string header_file(const std::string& header) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[size_t(i)] = char((uint64_t(header.size()) >> (8 * i)) & 0xff);
  return out + header;
}

TEST(InputLimits, SafetensorsHeaderOver100MBIsRefusedWithoutReadingIt) {
  TempDir d("st_big");
  // A sparse file: the header length claims 100 MiB + 1 and the file is that long, but
  // nothing is written (or read) past the first 8 bytes.
  const std::string p = d.path("big.safetensors");
  const uint64_t n = (100ull << 20) + 1;
  std::string len(8, '\0');
  for (int i = 0; i < 8; ++i) len[size_t(i)] = char((n >> (8 * i)) & 0xff);
  d.write("big.safetensors", len);
  ASSERT_EQ(::truncate(p.c_str(), off_t(8 + n + 16)), 0);
  const std::string err = error_of([&] { SafetensorsFile f(p); });
  EXPECT_NE(err.find("header length 104857601 is out of bounds"), std::string::npos) << err;
  EXPECT_EQ(err.find('\n'), std::string::npos);

  // Just under the limit the same layout is read (and fails only on its content).
  const uint64_t ok = 100ull << 20;
  for (int i = 0; i < 8; ++i) len[size_t(i)] = char((ok >> (8 * i)) & 0xff);
  d.write("ok.safetensors", len + "{}");
  const std::string p2 = d.path("ok.safetensors");
  ASSERT_EQ(::truncate(p2.c_str(), off_t(8 + ok)), 0);
  const std::string err2 = error_of([&] { SafetensorsFile f(p2); });
  EXPECT_EQ(err2.find("out of bounds"), std::string::npos) << err2;
}

TEST(InputLimits, SafetensorsOffsetsPastTheFileOrWrappingAreRefused) {
  TempDir d("st_off");
  const char* cases[][2] = {
      // end past the data section
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", "lie outside"},
      // begin + size overflowing 2^64 cannot wrap back inside the file
      {R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[18446744073709551612,0]}})", "> end"},
      {R"({"a":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,16]}})", "overflows"},
      {R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
       R"("b":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}})",
       "overlaps"},
  };
  for (const auto& c : cases) {
    const std::string p = d.write("t.safetensors", header_file(c[0]) + std::string(6, '\0'));
    const std::string err = error_of([&] { SafetensorsFile f(p); });
    EXPECT_NE(err.find(c[1]), std::string::npos) << c[0] << " -> " << err;
  }
}

TEST(InputLimits, ConfigClaimingHugeSizesIsRefused) {
  Json base = Json::parse(R"({"model_type":"qwen2","hidden_size":64,"num_hidden_layers":2,
      "num_attention_heads":4,"num_key_value_heads":2,"intermediate_size":128,
      "vocab_size":256})");
  EXPECT_NO_THROW(ModelConfig::from_json(base, "c.json"));
  const std::pair<const char*, Json> cases[] = {
      {"num_hidden_layers", 1000000000}, {"vocab_size", int64_t(1) << 40},
      {"vocab_size", 1 << 30},           {"hidden_size", 1 << 20},
      {"intermediate_size", 1 << 28},    {"max_position_embeddings", 2000000000},
      {"num_attention_heads", 1 << 20},  {"head_dim", 1 << 16}};
  for (const auto& [key, v] : cases) {
    Json j = base;
    j[key] = v;
    const std::string err = error_of([&] { ModelConfig::from_json(j, "c.json"); });
    EXPECT_NE(err.find(std::string("c.json: field ") + key), std::string::npos)
        << key << "=" << v.dump() << " -> " << err;
  }
}

// A byte-level BPE tokenizer.json with the 256 byte tokens, "ab", and `merges` copies of
// the merge "a b"; `extra_id` adds a token with that id.
std::string tokenizer_json(size_t merges, int64_t extra_id = -1) {
  Json vocab = Json::object();
  const auto& chars = byte_level::byte_chars();
  for (size_t b = 0; b < 256; ++b) vocab[chars[b]] = int(b);
  vocab["ab"] = 256;
  if (extra_id >= 0) vocab["zz"] = extra_id;
  std::string m = "[";
  for (size_t i = 0; i < merges; ++i) m += i ? ",\"a b\"" : "\"a b\"";
  m += "]";
  Json j = Json::parse(R"({"model":{"type":"BPE","merges":[]},"normalizer":null,
      "pre_tokenizer":{"type":"ByteLevel","add_prefix_space":false,"use_regex":false},
      "decoder":{"type":"ByteLevel"},"added_tokens":[]})");
  j["model"]["vocab"] = vocab;
  std::string text = j.dump();
  const std::string empty = "\"merges\":[]";
  text.replace(text.find(empty), empty.size(), "\"merges\":" + m);
  return text;
}

TEST(InputLimits, TokenizerWithAMillionMergesOrAHugeIdIsRefused) {
  TempDir d("tok");
  const Tokenizer ok = Tokenizer::load(d.write("ok.json", tokenizer_json(1)));
  EXPECT_EQ(ok.encode("ab"), std::vector<int32_t>{256});

  const std::string err =
      error_of([&] { Tokenizer::load(d.write("merges.json", tokenizer_json(1000000))); });
  EXPECT_NE(err.find("1000000 merges for a vocab of 257 tokens"), std::string::npos) << err;

  const std::string err2 =
      error_of([&] { Tokenizer::load(d.write("id.json", tokenizer_json(1, 2147483647))); });
  EXPECT_NE(err2.find("token id 2147483647 is out of range"), std::string::npos) << err2;
  // A modest gap in the ids is a real tokenizer's hole, not an attack.
  EXPECT_NO_THROW(Tokenizer::load(d.write("gap.json", tokenizer_json(1, 1000))));
}

TEST(InputLimits, DatasetRowOverTheCapIsSkippedWithoutBeingHeld) {
  TempDir d("rows");
  const std::string good = R"({"question": "1+1?", "answer": "2"})";
  // The long row is a valid JSON row: only its length makes it malformed.
  const std::string long_row =
      R"({"question": ")" + std::string(2 << 20, 'x') + R"(", "answer": "2"})";
  const std::string p = d.write("g.jsonl", good + "\n" + long_row + "\n" + good + "\n");
  DatasetLimits lim;
  lim.max_row_bytes = 1 << 20;
  LoadReport rep;
  auto s = load_dataset({DataFormat::Gsm8k, p}, 0, &rep, lim);
  EXPECT_EQ(s.size(), 2u);
  EXPECT_EQ(rep.malformed, 1u);
  ASSERT_EQ(rep.errors.size(), 1u);
  EXPECT_EQ(rep.errors[0], p + ":2: row is longer than 1048576 bytes");
  // Under the default cap the same row loads.
  EXPECT_EQ(load_dataset({DataFormat::Gsm8k, p}, 0, nullptr).size(), 3u);

  // A JSON-array file is parsed whole, so its size is capped instead.
  const std::string a = d.write("a.json", "[" + good + "," + good + "]");
  lim.max_array_bytes = 16;
  const std::string err = error_of([&] { load_dataset({DataFormat::Gsm8k, a}, 0, nullptr, lim); });
  EXPECT_NE(err.find("over the 16-byte limit"), std::string::npos) << err;
}

TEST(InputLimits, DatasetLastRowWithoutNewlineAndBomStillLoad) {
  TempDir d("bom");
  const std::string good = R"({"question": "1+1?", "answer": "2"})";
  const std::string p = d.write("g.jsonl", "\xEF\xBB\xBF" + good + "\n\n" + good);
  LoadReport rep;
  EXPECT_EQ(load_dataset({DataFormat::Gsm8k, p}, 0, &rep).size(), 2u);
  EXPECT_EQ(rep.malformed, 0u);
  const std::string a = d.write("a.json", "\xEF\xBB\xBF  [" + good + "]");
  EXPECT_EQ(load_dataset({DataFormat::Gsm8k, a}, 0, nullptr).size(), 1u);
}

TEST(InputLimits, ChatOf100000MessagesRendersAndSpansInLinearTime) {
  Json messages = Json::array();
  for (int i = 0; i < 100000; ++i)
    messages.push_back({{"role", i % 2 ? "assistant" : "user"}, {"content", std::to_string(i)}});
  const ChatTemplate t = ChatTemplate::qwen25();
  const std::string full = t.render(messages, Json(), false);
  EXPECT_NE(full.find("<|im_start|>assistant\n99999<|im_end|>"), std::string::npos);
  const auto spans = assistant_spans(
      messages, full, [&](const Json& m, bool gen) { return t.render(m, Json(), gen); });
  ASSERT_EQ(spans.size(), 50000u);
  EXPECT_EQ(full.substr(spans.back().begin, spans.back().end - spans.back().begin),
            "99999<|im_end|>");
  EXPECT_EQ(full.substr(spans.front().begin, spans.front().end - spans.front().begin),
            "1<|im_end|>");
}

TEST(InputLimits, JsonDepthCountsBracketsOutsideStrings) {
  EXPECT_EQ(json_depth("1"), 0u);
  EXPECT_EQ(json_depth(R"({"a": [1, {"b": []}]})"), 4u);
  EXPECT_EQ(json_depth(R"(["[[[[", "\"[[[", {}])"), 2u);
  EXPECT_GT(json_depth(nested(100000)), kMaxJsonDepth);
  EXPECT_NO_THROW(parse_json(nested(kMaxJsonDepth), "ok"));
  EXPECT_EQ(error_of([] { parse_json(nested(kMaxJsonDepth + 1), "x.json:3"); }),
            "x.json:3: JSON nests deeper than 256 levels");
  EXPECT_TRUE(parse_json_or_discarded(nested(100000)).is_discarded());
  EXPECT_FALSE(parse_json_or_discarded("[1]").is_discarded());
}

TEST(InputLimits, DeeplyNestedJsonIsRefusedByEveryReader) {
  TempDir d("deep");
  const std::string deep = nested(100000);
  const auto refused = [](const std::string& err) {
    return err.find("JSON nests deeper than 256 levels") != std::string::npos &&
           err.find('\n') == std::string::npos;
  };
  EXPECT_TRUE(refused(error_of([&] { read_json_file(d.write("a.json", deep)); })));
  EXPECT_TRUE(refused(error_of(
      [&] { SafetensorsFile f(d.write("m.safetensors", header_file("{\"a\":" + deep + "}"))); })));
  d.write("config.json", "{\"x\":" + deep + "}");
  EXPECT_TRUE(refused(error_of([&] { ModelConfig::load(d.path()); })));
  d.write("generation_config.json", "{\"x\":" + deep + "}");
  EXPECT_TRUE(refused(error_of([&] { GenerationConfig::load(d.path()); })));
  EXPECT_TRUE(refused(error_of([&] { Tokenizer::load(d.write("tokenizer.json", deep)); })));
  d.write("tokenizer_config.json", "{\"chat_template\":" + deep + "}");
  EXPECT_TRUE(refused(error_of([&] { ChatTemplate::from_model_dir(d.path()); })));
  EXPECT_TRUE(refused(error_of([&] {
    load_dataset({DataFormat::Messages, d.write("a.json", deep)}, 0, nullptr);
  })));

  // A JSONL row nested too deep is one malformed row; the rows around it load.
  const std::string row =
      R"({"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"yo"}]})";
  LoadReport rep;
  const std::string p = d.write("m.jsonl", row + "\n" + deep + "\n" + row + "\n");
  EXPECT_EQ(load_dataset({DataFormat::Messages, p}, 0, &rep).size(), 2u);
  ASSERT_EQ(rep.errors.size(), 1u);
  EXPECT_EQ(rep.errors[0], p + ":2: JSON nests deeper than 256 levels");

  // Tool-call arguments given as a string that nests too deep stay a string.
  const std::string args = nested(1000);
  Json call = {
      {"role", "assistant"},
      {"tool_calls",
       Json::array({{{"type", "function"}, {"function", {{"name", "f"}, {"arguments", args}}}}})}};
  Json r = {{"messages", Json::array({{{"role", "user"}, {"content", "hi"}}, call})}};
  LoadReport rep2;
  auto s = load_dataset({DataFormat::Messages, d.write("c.jsonl", r.dump() + "\n")}, 0, &rep2);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].messages[1]["tool_calls"][0]["function"]["arguments"], args);
}

// Found by fuzz_chat_render: nlohmann reports a number overflow (1e400) as out_of_range,
// not parse_error, so it escaped the readers that caught only the latter.
TEST(InputLimits, NumberOverflowIsAnErrorNotAStrayException) {
  TempDir d("e400");
  EXPECT_EQ(error_of([] {
              parse_json(R"({"messages": [1e400]})", "stdin:1");
            }).rfind("stdin:1: not valid JSON: ", 0),
            0u);
  const std::string st = error_of([&] {
    SafetensorsFile f(d.write("a.safetensors", header_file(R"({"__metadata__": 1e400})")));
  });
  EXPECT_NE(st.find("header is not valid JSON"), std::string::npos) << st;
  const std::string good = R"({"question": "1+1?", "answer": "2"})";
  LoadReport rep;
  const std::string p = d.write("g.jsonl", good + "\n" + R"({"question": 1e400})" + "\n");
  EXPECT_EQ(load_dataset({DataFormat::Gsm8k, p}, 0, &rep).size(), 1u);
  ASSERT_EQ(rep.errors.size(), 1u);
  EXPECT_EQ(rep.errors[0], p + ":2: not valid JSON (a number out of range)");
  const std::string a = d.write("a.json", "[" + good + ", 1e400]");
  EXPECT_NE(error_of([&] {
              load_dataset({DataFormat::Gsm8k, a}, 0, nullptr);
            }).find("not valid JSON"),
            std::string::npos);
}

}  // namespace
}  // namespace lr
