// Dataset loading (file → rows → samples), loss-mask spans, splitting and batching.
// The per-format row parsers live in format_*.cpp; tokenize_sample in tokenize_sample.cpp.
#include "text/dataset.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "text/dataset_formats.h"

namespace lr {

using namespace dataset_detail;

namespace {

constexpr size_t kMaxReported = 5;
constexpr std::string_view kAssistantOpen = "<|im_start|>assistant\n";
constexpr std::string_view kImEnd = "<|im_end|>";
constexpr size_t kMaxPrefixRenderedMessages = 1024;

struct FormatName {
  const char* name;
  DataFormat format;
};
constexpr FormatName kFormats[] = {{"hermes", DataFormat::Hermes},
                                   {"glaive", DataFormat::Glaive},
                                   {"gsm8k", DataFormat::Gsm8k},
                                   {"turing", DataFormat::Turing},
                                   {"messages", DataFormat::Messages}};

std::string valid_formats() {
  std::string s;
  for (const FormatName& f : kFormats) s += std::string(s.empty() ? "" : ", ") + f.name;
  return s;
}

std::ifstream open_dataset(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) fail(path, ": is a directory, not a dataset file");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, ": cannot read");
  return in;
}

// Skips a UTF-8 byte-order mark at the start of the stream.
void skip_bom(std::istream& in) {
  char bom[3] = {};
  in.read(bom, 3);
  if (in.gcount() == 3 && std::string_view(bom, 3) == "\xEF\xBB\xBF") return;
  in.clear();
  in.seekg(0);
}

// The first non-blank character of the stream (after a BOM), or 0 for a blank file.
char first_char(const std::string& path) {
  std::ifstream in = open_dataset(path);
  skip_bom(in);
  for (char c; in.get(c);)
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return c;
  if (in.bad()) fail(path, ": cannot read");
  return 0;
}

std::string read_whole(const std::string& path, size_t max_bytes) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (!ec && size > max_bytes)
    fail(path, ": a JSON-array dataset of ", size, " bytes is over the ", max_bytes,
         "-byte limit (JSONL is read row by row and has no such limit)");
  std::ifstream in = open_dataset(path);
  skip_bom(in);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) fail(path, ": cannot read");
  return ss.str();
}

// Calls fn(line_no, line, too_long) for each line of a JSONL stream until fn returns false.
// A line longer than max_bytes is passed empty with too_long set: its bytes are skipped,
// never held, so memory stays bounded whatever the file holds.
template <typename Fn>
void for_each_line(std::istream& in, const std::string& path, size_t max_bytes, Fn fn) {
  std::vector<char> buf(size_t(1) << 16);
  std::string line;
  bool too_long = false;
  size_t line_no = 0;
  while (in) {
    in.read(buf.data(), std::streamsize(buf.size()));
    const size_t got = size_t(in.gcount());
    for (size_t pos = 0; pos < got;) {
      const void* nl = std::memchr(buf.data() + pos, '\n', got - pos);
      const size_t end = nl ? size_t(static_cast<const char*>(nl) - buf.data()) : got;
      if (!too_long && line.size() + (end - pos) > max_bytes) {
        too_long = true;
        std::string().swap(line);
      }
      if (!too_long) line.append(buf.data() + pos, end - pos);
      pos = end;
      if (!nl) break;
      ++pos;
      if (!fn(++line_no, std::string_view(line), too_long)) return;
      line.clear();
      too_long = false;
    }
  }
  if (in.bad()) fail(path, ": cannot read");
  if (!line.empty() || too_long) fn(++line_no, std::string_view(line), too_long);
}

Sample parse_row(DataFormat f, const Json& row, RowNotes& notes) {
  switch (f) {
    case DataFormat::Hermes:
      return parse_hermes_row(row, notes);
    case DataFormat::Glaive:
      return parse_glaive_row(row, notes);
    case DataFormat::Gsm8k:
    case DataFormat::Turing:
      return parse_qa_row(row);
    case DataFormat::Messages:
      return parse_messages_row(row, notes);
  }
  throw RowError("unknown format");
}

// Feeds rows to the format parser and keeps the books.
class Loader {
 public:
  Loader(const DataSpec& spec, size_t cap, LoadReport& rep) : spec_(spec), cap_(cap), rep_(rep) {}
  bool full() const { return cap_ != 0 && out.size() >= cap_; }

  void bad_row(size_t row, const std::string& why) {
    ++rep_.rows;
    ++rep_.malformed;
    if (rep_.errors.size() < kMaxReported)
      rep_.errors.push_back(spec_.path + ":" + std::to_string(row) + ": " + why);
  }

  void row(size_t row, const Json& j) {
    RowNotes notes;
    try {
      Sample s = parse_row(spec_.format, j, notes);
      ++rep_.rows;
      s.origin = spec_.path + ":" + std::to_string(row);
      if (!notes.items.empty()) {
        ++rep_.repaired;
        if (rep_.notes.size() < kMaxReported) {
          std::string line = s.origin + ":";
          for (const std::string& n : notes.items) line += " " + n + ";";
          line.pop_back();
          rep_.notes.push_back(std::move(line));
        }
      }
      out.push_back(std::move(s));
      ++rep_.loaded;
    } catch (const RowError& e) {
      bad_row(row, e.what());
    } catch (const nlohmann::json::exception& e) {  // a type the parser did not expect
      bad_row(row, std::string("unexpected JSON shape: ") + e.what());
    }
  }

  std::vector<Sample> out;

 private:
  const DataSpec& spec_;
  size_t cap_;
  LoadReport& rep_;
};

}  // namespace

const char* data_format_name(DataFormat f) {
  for (const FormatName& n : kFormats)
    if (n.format == f) return n.name;
  return "?";
}

DataSpec DataSpec::parse(const std::string& spec) {
  size_t colon = spec.find(':');
  if (colon == std::string::npos)
    fail("dataset spec \"", spec, "\": expected FORMAT:PATH with FORMAT one of ", valid_formats());
  std::string name = spec.substr(0, colon), path = spec.substr(colon + 1);
  for (const FormatName& f : kFormats) {
    if (name != f.name) continue;
    if (path.empty()) fail("dataset spec \"", spec, "\": no file path after \"", name, ":\"");
    return DataSpec{f.format, path};
  }
  fail("dataset spec \"", spec, "\": unknown format \"", name, "\" (valid: ", valid_formats(), ")");
}

std::vector<Sample> load_dataset(const DataSpec& spec, size_t cap, LoadReport* report,
                                 const DatasetLimits& limits) {
  LoadReport local;
  LoadReport& rep = report ? *report : local;
  rep = LoadReport{};
  rep.path = spec.path;
  Loader loader(spec, cap, rep);

  if (first_char(spec.path) == '[') {
    // One JSON array: the whole file must parse; its elements are the rows.
    const std::string text = read_whole(spec.path, limits.max_array_bytes);
    check_json_depth(text, spec.path);
    Json all;
    try {
      all = Json::parse(text);
    } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for 1e400
      fail(spec.path, ": not valid JSON: ", e.what());
    }
    size_t row = 0;
    for (const Json& j : all) {
      if (loader.full()) break;
      loader.row(++row, j);
    }
    return std::move(loader.out);
  }
  // JSONL: each non-blank line is a row, numbered by its line.
  std::ifstream in = open_dataset(spec.path);
  skip_bom(in);
  for_each_line(
      in, spec.path, limits.max_row_bytes,
      [&](size_t line_no, std::string_view line, bool too_long) {
        if (too_long) {
          loader.bad_row(line_no,
                         "row is longer than " + std::to_string(limits.max_row_bytes) + " bytes");
          return !loader.full();
        }
        if (trim(line).empty()) return true;
        if (json_depth(line) > kMaxJsonDepth) {
          loader.bad_row(line_no,
                         "JSON nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
          return true;
        }
        Json j;
        try {
          j = Json::parse(line);
        } catch (const nlohmann::json::parse_error& e) {
          loader.bad_row(line_no, "not valid JSON (at byte " + std::to_string(e.byte) + ")");
          return true;
        } catch (const nlohmann::json::out_of_range&) {  // a number such as 1e400
          loader.bad_row(line_no, "not valid JSON (a number out of range)");
          return true;
        }
        loader.row(line_no, j);
        return !loader.full();
      });
  return std::move(loader.out);
}

std::vector<TextSpan> assistant_spans(const Json& messages, const std::string& full,
                                      const RenderFn& render) {
  std::vector<TextSpan> spans;
  // Rendering a prefix per assistant turn costs time quadratic in the chat's length; past
  // kMaxPrefixRenderedMessages (far beyond real chats, not beyond hostile ones) the
  // marker scan below, linear, finds the spans instead.
  bool prefix_stable = messages.is_array() && messages.size() <= kMaxPrefixRenderedMessages;
  try {
    for (size_t i = 0; prefix_stable && i < messages.size(); ++i) {
      if (messages[i].value("role", "") != "assistant") continue;
      Json before = Json::array(), upto;
      for (size_t k = 0; k < i; ++k) before.push_back(messages[k]);
      upto = before;
      upto.push_back(messages[i]);
      const std::string pre = render(before, true);  // ends "<|im_start|>assistant\n"
      const std::string done = render(upto, false);  // ends "<|im_end|>\n"
      size_t close = done.rfind(kImEnd);
      prefix_stable = full.starts_with(pre) && full.starts_with(done) &&
                      close != std::string::npos && close >= pre.size();
      if (prefix_stable) spans.push_back({pre.size(), close + kImEnd.size()});
    }
  } catch (const std::exception&) {
    prefix_stable = false;  // e.g. a renderer that rejects an empty prefix
  }
  if (prefix_stable) return spans;

  spans.clear();
  for (size_t pos = 0;;) {
    size_t open = full.find(kAssistantOpen, pos);
    if (open == std::string::npos) break;
    size_t begin = open + kAssistantOpen.size();
    size_t close = full.find(kImEnd, begin);
    size_t end = close == std::string::npos ? full.size() : close + kImEnd.size();
    spans.push_back({begin, end});
    pos = end;
  }
  return spans;
}

TokenizedSample tokenize_spans(const std::string& text, const std::vector<TextSpan>& spans,
                               const EncodeFn& encode, LossOn loss_on, size_t max_len,
                               StepLabel label) {
  TokenizedSample out;
  out.label = label;
  auto add = [&](size_t b, size_t e, uint8_t mask) {
    if (e <= b) return;
    std::vector<int32_t> ids = encode(std::string_view(text).substr(b, e - b));
    out.ids.insert(out.ids.end(), ids.begin(), ids.end());
    out.loss_mask.insert(out.loss_mask.end(), ids.size(), mask);
  };
  if (loss_on == LossOn::All) {
    add(0, text.size(), 1);  // no boundaries to respect: the whole text at once
  } else {
    size_t cursor = 0;
    for (const TextSpan& sp : spans) {
      size_t b = std::clamp(sp.begin, cursor, text.size());
      size_t e = std::clamp(sp.end, b, text.size());
      add(cursor, b, 0);
      add(b, e, 1);
      cursor = e;
    }
    add(cursor, text.size(), 0);
  }
  if (max_len != 0 && out.ids.size() > max_len) {
    out.ids.resize(max_len);
    out.loss_mask.resize(max_len);
  }
  if (!out.loss_mask.empty()) out.loss_mask[0] = 0;  // nothing predicts the first token
  return out;
}

void split_train_val(std::vector<TokenizedSample> all, double val_fraction, uint64_t seed,
                     std::vector<TokenizedSample>* train, std::vector<TokenizedSample>* val) {
  LR_CHECK(val_fraction >= 0.0 && val_fraction <= 1.0, "validation fraction ", val_fraction,
           " is not within [0, 1]");
  // Fisher–Yates by hand: std::shuffle and uniform_int_distribution are
  // implementation-defined, and the split must not change with the standard library.
  // The modulo bias (≤ n / 2^64) is negligible.
  std::mt19937_64 rng(seed);
  for (size_t i = all.size(); i > 1; --i) std::swap(all[i - 1], all[rng() % i]);
  size_t n_val = static_cast<size_t>(std::llround(static_cast<double>(all.size()) * val_fraction));
  n_val = std::min(n_val, all.size());
  val->assign(std::make_move_iterator(all.begin()),
              std::make_move_iterator(all.begin() + static_cast<std::ptrdiff_t>(n_val)));
  train->assign(std::make_move_iterator(all.begin() + static_cast<std::ptrdiff_t>(n_val)),
                std::make_move_iterator(all.end()));
}


}  // namespace lr
