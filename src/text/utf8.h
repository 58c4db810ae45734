#pragma once
// Small UTF-8 helpers shared by the tokenizer and the streaming decoder.
#include <cstddef>
#include <string>
#include <string_view>

namespace lr::utf8 {

// True when every byte is < 0x80 (fast path: ASCII is valid UTF-8 and NFC-invariant).
bool is_ascii(std::string_view s);
// True when s is well-formed UTF-8 (no overlongs, surrogates or code points > U+10FFFF).
bool is_valid(std::string_view s);
// Appends s to out with each maximal invalid subpart replaced by U+FFFD (the same policy
// as Rust's String::from_utf8_lossy and the WHATWG decoder).
void append_lossy(std::string_view s, std::string& out);
// Length of a trailing, so far well-formed but incomplete multi-byte sequence (0..3):
// the bytes a streaming decoder should hold back until more arrive.
size_t incomplete_tail(std::string_view s);
// Appends code point cp encoded as UTF-8.
void append_codepoint(char32_t cp, std::string& out);

}  // namespace lr::utf8
