// libFuzzer target: tokenizer.json loading (seeded with small vocabularies). A tokenizer
// that loads must encode and decode a fixed text mixing scripts, digits and whitespace.
#include "core/error.h"
#include "fuzz_util.h"
#include "text/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path =
      lr::fuzz::scratch().write("tokenizer.json", lr::fuzz::as_view(data, size));
  try {
    const lr::Tokenizer tok = lr::Tokenizer::load(path);
    const std::vector<int32_t> ids =
        tok.encode("Hello, world! 123 <|im_start|>\n  caf\xC3\xA9 \xE4\xBD\xA0\xE5\xA5\xBD\t'll");
    (void)tok.decode(ids, true);
    lr::StreamDecoder sd(tok);
    for (int32_t id : ids) (void)sd.push(id);
    (void)sd.flush();
    (void)tok.id_to_token(int32_t(tok.vocab_size()));
  } catch (const lr::Error&) {
  }
  return 0;
}
