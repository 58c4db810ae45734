#include "text/byte_level.h"

#include "text/utf8.h"

namespace lr::byte_level {
namespace {

// Printable bytes stand for themselves; the rest take code points from U+0100 upward in
// byte order (GPT-2's bytes_to_unicode).
std::array<char32_t, 256> make_code_points() {
  std::array<char32_t, 256> cps{};
  char32_t next = 256;
  for (int b = 0; b < 256; ++b) {
    bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
    cps[size_t(b)] = printable ? char32_t(b) : next++;
  }
  return cps;
}

const std::array<char32_t, 256>& code_points() {
  static const std::array<char32_t, 256> cps = make_code_points();
  return cps;
}

// Inverse map over code points 0..U+0143 (the largest one used); -1 where unused.
const std::array<int16_t, 0x144>& inverse() {
  static const std::array<int16_t, 0x144> inv = [] {
    std::array<int16_t, 0x144> a;
    a.fill(-1);
    for (int b = 0; b < 256; ++b) a[code_points()[size_t(b)]] = int16_t(b);
    return a;
  }();
  return inv;
}

}  // namespace

const std::array<std::string, 256>& byte_chars() {
  static const std::array<std::string, 256> chars = [] {
    std::array<std::string, 256> a;
    for (size_t b = 0; b < 256; ++b) utf8::append_codepoint(code_points()[b], a[b]);
    return a;
  }();
  return chars;
}

std::string encode(std::string_view bytes) {
  const auto& chars = byte_chars();
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) out += chars[uint8_t(c)];
  return out;
}

bool decode(std::string_view token, std::string& out) {
  const auto& inv = inverse();
  std::string bytes;
  bytes.reserve(token.size());
  for (size_t i = 0; i < token.size();) {
    // Every alphabet character is one or two UTF-8 bytes (code points < U+0800).
    uint8_t b0 = uint8_t(token[i]);
    char32_t cp;
    if (b0 < 0x80) {
      cp = b0;
      i += 1;
    } else if ((b0 & 0xE0) == 0xC0 && i + 1 < token.size()) {
      cp = char32_t((b0 & 0x1F) << 6) | (uint8_t(token[i + 1]) & 0x3F);
      i += 2;
    } else {
      return false;
    }
    if (cp >= inv.size() || inv[cp] < 0) return false;
    bytes.push_back(char(inv[cp]));
  }
  out += bytes;
  return true;
}

}  // namespace lr::byte_level
