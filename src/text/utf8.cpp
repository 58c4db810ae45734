#include "text/utf8.h"

#include <cstdint>
#include <cstring>

namespace lr::utf8 {
namespace {

// Expected sequence length and the allowed range of the second byte for a lead byte;
// len 0 marks a byte that can never start a sequence.
struct Lead {
  int len;
  uint8_t lo, hi;
};

Lead lead_info(uint8_t b) {
  if (b < 0x80) return {1, 0, 0};
  if (b >= 0xC2 && b <= 0xDF) return {2, 0x80, 0xBF};
  if (b == 0xE0) return {3, 0xA0, 0xBF};  // excludes overlongs
  if (b == 0xED) return {3, 0x80, 0x9F};  // excludes surrogates
  if (b >= 0xE1 && b <= 0xEF) return {3, 0x80, 0xBF};
  if (b == 0xF0) return {4, 0x90, 0xBF};
  if (b == 0xF4) return {4, 0x80, 0x8F};  // caps at U+10FFFF
  if (b >= 0xF1 && b <= 0xF3) return {4, 0x80, 0xBF};
  return {0, 0, 0};
}

// Number of bytes of the sequence starting at s[i] that are well-formed (== lead.len when
// complete); 0 when s[i] is not a lead byte.
int valid_prefix(std::string_view s, size_t i, Lead lead) {
  if (lead.len == 0) return 0;
  int k = 1;
  for (; k < lead.len && i + k < s.size(); ++k) {
    uint8_t c = uint8_t(s[i + k]);
    uint8_t lo = k == 1 ? lead.lo : 0x80, hi = k == 1 ? lead.hi : 0xBF;
    if (c < lo || c > hi) break;
  }
  return k;
}

constexpr char kReplacement[] = "\xEF\xBF\xBD";

}  // namespace

bool is_ascii(std::string_view s) {
  size_t i = 0;
  uint64_t acc = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    acc |= w;
  }
  for (; i < s.size(); ++i) acc |= uint8_t(s[i]);
  return (acc & 0x8080808080808080ull) == 0;
}

bool is_valid(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    uint8_t b = uint8_t(s[i]);
    if (b < 0x80) {
      ++i;
      continue;
    }
    Lead lead = lead_info(b);
    if (valid_prefix(s, i, lead) != lead.len || lead.len == 0) return false;
    i += size_t(lead.len);
  }
  return true;
}

void append_lossy(std::string_view s, std::string& out) {
  out.reserve(out.size() + s.size());
  for (size_t i = 0; i < s.size();) {
    uint8_t b = uint8_t(s[i]);
    if (b < 0x80) {
      out.push_back(char(b));
      ++i;
      continue;
    }
    Lead lead = lead_info(b);
    int k = valid_prefix(s, i, lead);
    if (lead.len != 0 && k == lead.len) {
      out.append(s.data() + i, size_t(k));
      i += size_t(k);
    } else {
      out.append(kReplacement);
      i += size_t(k > 0 ? k : 1);
    }
  }
}

size_t incomplete_tail(std::string_view s) {
  size_t n = s.size();
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    size_t i = n - back;
    uint8_t b = uint8_t(s[i]);
    if (b >= 0x80 && b < 0xC0) continue;  // continuation byte: keep looking for the lead
    Lead lead = lead_info(b);
    if (lead.len <= int(back)) return 0;  // ASCII, invalid, or already complete
    return valid_prefix(s, i, lead) == int(back) ? back : 0;
  }
  return 0;
}

void append_codepoint(char32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(char(cp));
  } else if (cp < 0x800) {
    out.push_back(char(0xC0 | (cp >> 6)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(char(0xE0 | (cp >> 12)));
    out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(char(0xF0 | (cp >> 18)));
    out.push_back(char(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  }
}

}  // namespace lr::utf8
