#pragma once
// GPT-2 byte-level alphabet: every byte maps to one printable code point, so BPE vocab
// entries are strings over those 256 characters.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace lr::byte_level {

// UTF-8 text of the code point that stands for byte b.
const std::array<std::string, 256>& byte_chars();
// Maps the raw bytes to their byte-level string.
std::string encode(std::string_view bytes);
// Maps a byte-level token back to raw bytes. Returns false (out untouched) when the token
// holds a character outside the alphabet; callers then use the token text itself, like
// Hugging Face's ByteLevel decoder does.
bool decode(std::string_view token, std::string& out);

}  // namespace lr::byte_level
