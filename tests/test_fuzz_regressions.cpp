// Regression tests for the fixes the fuzz targets (and reading the readers while writing
// them) led to, one per fix, each failing if its fix were reverted: LoRA buffers sized by an
// unchecked rank, floats cast to int (undefined behaviour) in adapter_config.json,
// generation_config.json and tokenizer.json ids. The committed crash inputs
// (tests/fuzz/crashes/) are replayed here too, so the gtest suite checks them without the
// fuzz build.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "cli_util.h"
#include "core/error.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "layerroute/adapters.h"
#include "model/generation_config.h"
#include "routed_ref.h"
#include "temp_path.h"
#include "text/chat_template.h"
#include "text/dataset.h"
#include "text/tokenizer.h"

namespace lr {
namespace {

namespace fs = std::filesystem;

template <typename Fn>
std::string error_of(Fn fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::string fresh_dir(const std::string& name) {
  const fs::path p = test::temp_path("lr_fuzzreg_" + name);
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

std::string crash_input(const std::string& target, const std::string& name) {
  return test::slurp(std::string(LR_SOURCE_DIR) + "/tests/fuzz/crashes/" + target + "/" + name);
}

// An adapter directory for `m` whose adapter_config.json is then replaced by `config`.
std::string adapters_with_config(const std::string& name, const ModelConfig& m,
                                 const std::string& config) {
  const std::string d = fresh_dir(name);
  LoraConfig lc;
  lc.rank = 4;
  lc.targets = {LoraTarget::Q};
  const LoraWeights lw = LoraWeights::init(m, lc, 1);
  save_adapters(d, &lw, nullptr);
  write_text(d + "/adapter_config.json", config);
  return d;
}

// Finding 3: r sized the LoRA buffers before any tensor was read (r = 10^9: gigabytes per
// projection). Without the bound, r = 10^9 throws std::bad_alloc (not lr::Error) or is
// killed for memory, and r = hidden + 1 fails later on a tensor shape instead.
TEST(FuzzRegression, AdapterRankAboveHiddenSizeIsRefusedBeforeAllocating) {
  const Model m = routed_test::tiny_model(2);
  const int h = m.config.hidden;
  for (const long long r : {1000000000LL, (long long)h + 1}) {
    const std::string d =
        adapters_with_config("rank" + std::to_string(r), m.config,
                             R"({"peft_type":"LORA","r":)" + std::to_string(r) +
                                 R"(,"lora_alpha":8,"target_modules":["q_proj"]})");
    EXPECT_EQ(error_of([&] { Adapters::load(d, m.config); }),
              d + "/adapter_config.json: r " + std::to_string(r) + " is larger than hidden_size " +
                  std::to_string(h));
  }
}

// Finding 4: integers were read with nlohmann get<int>(), which casts a float such as 1e300
// to int (undefined behaviour: in Release it silently gave some rank), and a string in
// layers_to_transform escaped as nlohmann's type_error instead of lr::Error.
TEST(FuzzRegression, AdapterConfigIntegersAreCheckedBeforeTheCast) {
  const Model m = routed_test::tiny_model(2);
  for (const char* r : {"1e300", "4.5", "-1e300", "9223372036854775808"}) {
    const std::string d =
        adapters_with_config("float_r", m.config,
                             std::string(R"({"peft_type":"LORA","r":)") + r +
                                 R"(,"lora_alpha":8,"target_modules":["q_proj"]})");
    EXPECT_EQ(error_of([&] { Adapters::load(d, m.config); }),
              d + "/adapter_config.json: field 'r' must be an integer in range")
        << r;
  }
  const std::string d = adapters_with_config(
      "layers", m.config,
      R"({"peft_type":"LORA","r":4,"lora_alpha":8,"target_modules":["q_proj"],)"
      R"("layers_to_transform":["x"]})");
  EXPECT_EQ(error_of([&] { Adapters::load(d, m.config); }),
            d + "/adapter_config.json: layers_to_transform must hold integers");
}

// Finding 4: generation_config.json's eos_token_id went through get<int>() unchecked.
TEST(FuzzRegression, GenerationConfigFloatTokenIdIsAnError) {
  const std::string d = fresh_dir("genconf");
  for (const char* eos : {"1e300", "[2, 1e300]", "2.5", "4294967296"}) {
    write_text(d + "/generation_config.json", std::string(R"({"eos_token_id": )") + eos + "}");
    const std::string e = error_of([&] { (void)GenerationConfig::load(d); });
    EXPECT_NE(e.find("generation_config.json: eos_token_id must be an integer"), std::string::npos)
        << eos << " -> " << e;
  }
}

// 1fe23f9: a vocab or added-token id that is not an integer in [0, 2^31) was cast to int32
// (a float such as 1e10: undefined behaviour; fuzz_tokenizer_json found it in CI). The
// committed crash input holds a 100-digit id, which nlohmann reads as a float.
TEST(FuzzRegression, TokenizerIdMustBeAnIntegerInRange) {
  const std::string d = fresh_dir("tok");
  const std::string crash =
      crash_input("fuzz_tokenizer_json", "crash-89d9c5522100daec08f902f27150230f80477943");
  ASSERT_FALSE(crash.empty());
  write_text(d + "/tokenizer.json", crash);
  std::string e = error_of([&] { (void)Tokenizer::load(d + "/tokenizer.json"); });
  EXPECT_NE(e.find("tokenizer.json: vocab entry 'Ġthat' has id "), std::string::npos) << e;
  EXPECT_NE(e.find(", not an integer in [0, 2^31)"), std::string::npos) << e;

  // The same file with that id repaired loads; an added token with a float id does not.
  const size_t big = crash.find("999999");
  ASSERT_NE(big, std::string::npos);
  const std::string fixed =
      crash.substr(0, big) + crash.substr(crash.find_first_not_of('9', big));  // id 429
  write_text(d + "/tokenizer.json", fixed);
  EXPECT_NO_THROW((void)Tokenizer::load(d + "/tokenizer.json"));
  const size_t at = fixed.find(R"("added_tokens": [])");
  ASSERT_NE(at, std::string::npos);
  for (const char* id : {"1e10", "2.5", "2147483648", "-1"}) {
    write_text(d + "/tokenizer.json", fixed.substr(0, at) + R"("added_tokens": [{"id": )" + id +
                                          R"(, "content": "<x>"}])" + fixed.substr(at + 18));
    e = error_of([&] { (void)Tokenizer::load(d + "/tokenizer.json"); });
    EXPECT_NE(e.find("tokenizer.json: added token has id "), std::string::npos) << id << ": " << e;
  }
}

// Finding 1: a number such as 1e400 made nlohmann throw out_of_range, which the chat reader
// and the safetensors header did not catch (an uncaught exception: abort). The committed
// inputs of both targets are errors now.
TEST(FuzzRegression, CommittedNumberOverflowInputsAreErrors) {
  const std::string chat =
      crash_input("fuzz_chat_render", "crash-a6606e28619bb2edfbd71ffa699bd81c8d096237");
  ASSERT_FALSE(chat.empty());
  EXPECT_NE(error_of([&] { (void)parse_json(chat, "chat"); }).find("chat: not valid JSON"),
            std::string::npos);
  const std::string d = fresh_dir("st");
  write_text(d + "/x.safetensors",
             crash_input("fuzz_safetensors", "crash-7813aa6a9d28471ab4888ac466d6ff2475f6d5db"));
  const std::string e = error_of([&] { SafetensorsFile f(d + "/x.safetensors"); });
  EXPECT_NE(e.find(d + "/x.safetensors"), std::string::npos) << e;
}

}  // namespace
}  // namespace lr
