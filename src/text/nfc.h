#pragma once
// Unicode NFC through utf8proc, with a quick check so text already in NFC (nearly all
// text) skips utf8proc's decompose + recompose pass.
#include <string>
#include <string_view>

namespace lr::nfc {

// True when s (valid UTF-8) is certainly in NFC: no code point that NFC could change or
// combine with its neighbour, and combining classes in canonical order (UAX #15 quick
// check, answered conservatively). False means "maybe not": run normalize().
bool quick_check(std::string_view s);
// NFC of s (valid UTF-8) into out (replacing its contents). Throws lr::Error on failure.
void normalize(std::string_view s, std::string& out);

}  // namespace lr::nfc
