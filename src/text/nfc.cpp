#include "text/nfc.h"

#include <utf8proc.h>

#include <cstdint>
#include <cstdlib>
#include <vector>

#include "core/error.h"

namespace lr::nfc {
namespace {

constexpr int32_t kMaxCp = 0x110000;

// Bit per code point: set when NFC might change the code point or merge it into the
// preceding one. Built once from utf8proc's own data so both always agree:
//  - a code point whose canonical decomposition does not recompose to itself
//    (singletons, composition exclusions);
//  - every non-initial element of a canonical decomposition (a superset of the "second"
//    characters of primary composites, e.g. U+0301, Hangul V/T jamo, Indic vowel signs).
std::vector<uint64_t> build_maybe_table() {
  std::vector<uint64_t> bits(kMaxCp / 64, 0);
  auto set = [&](int32_t cp) { bits[size_t(cp) >> 6] |= uint64_t(1) << (cp & 63); };
  utf8proc_int32_t buf[32];
  for (int32_t cp = 0x80; cp < kMaxCp; ++cp) {
    if (cp >= 0xD800 && cp <= 0xDFFF) continue;
    const utf8proc_property_t* p = utf8proc_get_property(cp);
    bool hangul = cp >= 0xAC00 && cp <= 0xD7A3;  // decomposed algorithmically
    if (!hangul && (p->decomp_seqindex == UINT16_MAX || p->decomp_type != 0)) continue;
    int boundclass = 0;
    utf8proc_ssize_t n =
        utf8proc_decompose_char(cp, buf, 32, utf8proc_option_t(UTF8PROC_DECOMPOSE), &boundclass);
    if (n <= 1 && (n < 1 || buf[0] == cp)) continue;
    for (utf8proc_ssize_t i = 1; i < n && i < 32; ++i) set(buf[i]);
    utf8proc_ssize_t m =
        utf8proc_normalize_utf32(buf, n, utf8proc_option_t(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
    if (m != 1 || buf[0] != cp) set(cp);
  }
  // Conservative extras: all conjoining jamo (L+V and LV+T compose algorithmically).
  for (int32_t cp = 0x1100; cp <= 0x11FF; ++cp) set(cp);
  return bits;
}

const std::vector<uint64_t>& maybe_table() {
  static const std::vector<uint64_t> bits = build_maybe_table();
  return bits;
}

}  // namespace

bool quick_check(std::string_view s) {
  const auto& bits = maybe_table();
  int last_ccc = 0;
  for (size_t i = 0; i < s.size();) {
    auto b = uint8_t(s[i]);
    if (b < 0x80) {
      last_ccc = 0;
      ++i;
      continue;
    }
    // s is valid UTF-8, so the lead byte gives the length.
    int32_t cp;
    if (b < 0xE0) {
      cp = ((b & 0x1F) << 6) | (uint8_t(s[i + 1]) & 0x3F);
      i += 2;
    } else if (b < 0xF0) {
      cp = ((b & 0x0F) << 12) | ((uint8_t(s[i + 1]) & 0x3F) << 6) | (uint8_t(s[i + 2]) & 0x3F);
      i += 3;
    } else {
      cp = ((b & 0x07) << 18) | ((uint8_t(s[i + 1]) & 0x3F) << 12) |
           ((uint8_t(s[i + 2]) & 0x3F) << 6) | (uint8_t(s[i + 3]) & 0x3F);
      i += 4;
    }
    if ((bits[size_t(cp) >> 6] >> (cp & 63)) & 1) return false;
    int ccc = utf8proc_get_property(cp)->combining_class;
    if (ccc != 0 && ccc < last_ccc) return false;  // marks out of canonical order
    last_ccc = ccc;
  }
  return true;
}

void normalize(std::string_view s, std::string& out) {
  utf8proc_uint8_t* dst = nullptr;
  utf8proc_ssize_t len =
      utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(s.data()), utf8proc_ssize_t(s.size()),
                   &dst, utf8proc_option_t(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
  if (len < 0) fail("NFC normalisation failed: ", utf8proc_errmsg(len));
  out.assign(reinterpret_cast<const char*>(dst), size_t(len));
  std::free(dst);
}

}  // namespace lr::nfc
