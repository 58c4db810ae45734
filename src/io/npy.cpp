#include "io/npy.h"

#include <cctype>
#include <cstring>

#include "core/error.h"
#include "io/atomic_file.h"

namespace lr {

namespace {

// A minimal reader for the Python-literal dict in a .npy header, e.g.
// {'descr': '<f4', 'fortran_order': False, 'shape': (24, 2048), }
struct HeaderParser {
  std::string_view s;
  const std::string& path;
  size_t i = 0;

  [[noreturn]] void bad(const char* what) { fail(path, ": malformed .npy header (", what, ")"); }
  void ws() {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  }
  bool eat(char c) {
    ws();
    if (i < s.size() && s[i] == c) return ++i, true;
    return false;
  }
  std::string str() {
    ws();
    if (i >= s.size() || (s[i] != '\'' && s[i] != '"')) bad("expected a string");
    const char q = s[i++];
    const size_t start = i;
    while (i < s.size() && s[i] != q) ++i;
    if (i >= s.size()) bad("unterminated string");
    return std::string(s.substr(start, i++ - start));
  }
  bool boolean() {
    ws();
    if (s.substr(i, 4) == "True") return i += 4, true;
    if (s.substr(i, 5) == "False") return i += 5, false;
    bad("expected True or False");
  }
  std::vector<int64_t> tuple() {
    if (!eat('(')) bad("expected a shape tuple");
    std::vector<int64_t> out;
    while (!eat(')')) {
      ws();
      int64_t v = 0;
      size_t digits = 0;
      while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
        if (v > (int64_t(1) << 50)) bad("dimension too large");
        v = v * 10 + (s[i++] - '0');
        ++digits;
      }
      if (digits == 0) bad("expected a non-negative dimension");
      out.push_back(v);
      if (!eat(',') && !(ws(), i < s.size() && s[i] == ')')) bad("expected , or )");
    }
    return out;
  }
};

}  // namespace

void write_npy_f32(const std::string& path, const float* data, const std::vector<int64_t>& shape) {
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (";
  size_t n = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    LR_CHECK(shape[i] >= 0, path, ": negative dimension in shape");
    dict += std::to_string(shape[i]) + (shape.size() == 1 ? "," : i + 1 < shape.size() ? ", " : "");
    n *= size_t(shape[i]);
  }
  dict += "), }";
  // numpy pads the header with spaces and a final newline to a multiple of 64 bytes.
  const size_t total = 10 + dict.size() + 1;
  dict.append((64 - total % 64) % 64, ' ');
  dict += '\n';
  LR_CHECK(dict.size() <= 65535, path, ": shape too long for a .npy v1.0 header");
  std::string head = "\x93NUMPY";
  head += char(1);
  head += char(0);
  head += char(dict.size() & 0xff);
  head += char(dict.size() >> 8);
  AtomicFile f(path);
  f.write(head);
  f.write(dict);
  f.write(data, n * sizeof(float));
  f.commit();
}

NpyArray read_npy_f32(const std::string& path) {
  const std::string b = read_file(path);
  LR_CHECK(b.size() >= 10 && b.compare(0, 6, "\x93NUMPY") == 0, path,
           ": not a .npy file (bad magic)");
  const auto u8 = [&](size_t k) { return size_t(static_cast<unsigned char>(b[k])); };
  const int major = int(u8(6));
  size_t hlen, hstart;
  if (major == 1) {
    hlen = u8(8) | u8(9) << 8;
    hstart = 10;
  } else if (major == 2 || major == 3) {  // v3 only differs by a UTF-8 header
    LR_CHECK(b.size() >= 12, path, ": truncated .npy header");
    hlen = u8(8) | u8(9) << 8 | u8(10) << 16 | u8(11) << 24;
    hstart = 12;
  } else {
    fail(path, ": unsupported .npy version ", major);
  }
  LR_CHECK(hlen <= b.size() - hstart, path, ": truncated .npy header");
  HeaderParser p{std::string_view(b).substr(hstart, hlen), path};
  std::string descr;
  bool fortran = false, have_descr = false, have_shape = false;
  NpyArray out;
  if (!p.eat('{')) p.bad("expected {");
  while (!p.eat('}')) {
    const std::string key = p.str();
    if (!p.eat(':')) p.bad("expected :");
    if (key == "descr") {
      descr = p.str();
      have_descr = true;
    } else if (key == "fortran_order") {
      fortran = p.boolean();
    } else if (key == "shape") {
      out.shape = p.tuple();
      have_shape = true;
    } else {
      p.bad("unknown key");
    }
    if (!p.eat(',') && !(p.ws(), p.i < p.s.size() && p.s[p.i] == '}')) p.bad("expected , or }");
  }
  LR_CHECK(have_descr && have_shape, path, ": .npy header lacks descr or shape");
  LR_CHECK(descr == "<f4", path, ": dtype ", descr, " is not supported (only '<f4', float32)");
  LR_CHECK(!fortran, path, ": fortran_order True is not supported (only C order)");
  size_t n = 1;
  for (int64_t d : out.shape)
    LR_CHECK(!__builtin_mul_overflow(n, size_t(d), &n), path, ": shape overflows");
  const size_t data_at = hstart + hlen;
  const size_t have = b.size() - data_at;
  LR_CHECK(n <= have / 4 && have == n * 4, path, ": data is ", have, " bytes, shape needs ", n,
           " float32 values");
  out.data.resize(n);
  if (n) std::memcpy(out.data.data(), b.data() + data_at, n * 4);
  return out;
}

}  // namespace lr
