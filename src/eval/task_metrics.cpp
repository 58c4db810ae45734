#include "eval/task_metrics.h"

#include <cctype>
#include <cmath>
#include <limits>

#include "core/error.h"

namespace lr::eval {

namespace {

constexpr std::string_view kOpen = "<tool_call>", kClose = "</tool_call>";
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}
size_t skip_space(std::string_view s, size_t p) {
  while (p < s.size() && is_space(s[p])) ++p;
  return p;
}

// End (exclusive) of the JSON object or array starting at s[p], found by bracket depth
// outside strings; npos when it never closes.
size_t json_span_end(std::string_view s, size_t p) {
  int depth = 0;
  bool in_str = false, esc = false;
  for (size_t i = p; i < s.size(); ++i) {
    const char c = s[i];
    if (in_str) {
      if (esc)
        esc = false;
      else if (c == '\\')
        esc = true;
      else if (c == '"')
        in_str = false;
      continue;
    }
    if (c == '"')
      in_str = true;
    else if (c == '{' || c == '[')
      ++depth;
    else if (c == '}' || c == ']') {
      if (--depth == 0) return i + 1;
    }
  }
  return std::string_view::npos;
}

// A string holding JSON becomes that JSON; anything else stays.
Json parse_if_string(const Json& v) {
  if (!v.is_string()) return v;
  const std::string& s = v.get_ref<const std::string&>();
  Json j = Json::parse(s.begin(), s.end(), nullptr, /*allow_exceptions=*/false);
  return j.is_discarded() ? v : j;
}

std::optional<ToolCall> call_of(const Json& j) {
  if (!j.is_object()) return std::nullopt;
  auto n = j.find("name");
  if (n == j.end() || !n->is_string()) return std::nullopt;
  ToolCall c;
  c.name = n->get<std::string>();
  auto a = j.find("arguments");
  c.arguments = a == j.end() ? Json::object() : parse_if_string(*a);
  return c;
}

bool number_equal(const Json& a, const Json& b) {
  if (a.is_number_float() || b.is_number_float()) return a.get<double>() == b.get<double>();
  if (a.is_number_unsigned() && b.is_number_unsigned())
    return a.get<uint64_t>() == b.get<uint64_t>();
  // Mixed signed/unsigned integers: a negative one never equals an unsigned one.
  const bool a_neg = a.is_number_integer() && !a.is_number_unsigned() && a.get<int64_t>() < 0;
  const bool b_neg = b.is_number_integer() && !b.is_number_unsigned() && b.get<int64_t>() < 0;
  if (a_neg || b_neg) return a_neg && b_neg && a.get<int64_t>() == b.get<int64_t>();
  return a.get<uint64_t>() == b.get<uint64_t>();
}

struct Triple {
  size_t call;
  bool keyed;
  std::string key;
  const Json* value;
};

std::vector<Triple> triples_of(const std::vector<ToolCall>& calls) {
  std::vector<Triple> t;
  for (size_t i = 0; i < calls.size(); ++i) {
    const Json& a = calls[i].arguments;
    if (a.is_object()) {
      for (auto it = a.begin(); it != a.end(); ++it) t.push_back({i, true, it.key(), &it.value()});
    } else {
      t.push_back({i, false, "", &a});
    }
  }
  return t;
}

double args_f1(const std::vector<ToolCall>& pred, const std::vector<ToolCall>& ref) {
  const std::vector<Triple> p = triples_of(pred), r = triples_of(ref);
  if (p.empty() && r.empty()) return pred.size() == ref.size() ? 1.0 : 0.0;
  if (p.empty() || r.empty()) return 0.0;
  // Keys are unique within a call, so a triple matches at most one on the other side.
  size_t match = 0;
  for (const Triple& a : p)
    for (const Triple& b : r)
      if (a.call == b.call && a.keyed == b.keyed && a.key == b.key &&
          json_equal(*a.value, *b.value)) {
        ++match;
        break;
      }
  if (match == 0) return 0.0;
  const double prec = double(match) / double(p.size()), rec = double(match) / double(r.size());
  return 2 * prec * rec / (prec + rec);
}

double share(int k, int n) {
  return n > 0 ? double(k) / double(n) : kNaN;
}

// Parses a number starting at s[i] (a digit, or '.' followed by a digit); sets `end`.
Decimal read_number(std::string_view s, size_t i, bool negative, size_t* end) {
  std::string intpart, frac;
  size_t p = i;
  while (p < s.size() && (std::isdigit(static_cast<unsigned char>(s[p])) || s[p] == ',')) {
    if (s[p] != ',') intpart += s[p];
    ++p;
  }
  if (p + 1 < s.size() && s[p] == '.' && std::isdigit(static_cast<unsigned char>(s[p + 1]))) {
    ++p;
    while (p < s.size() && std::isdigit(static_cast<unsigned char>(s[p]))) frac += s[p++];
  }
  *end = p;
  size_t z = intpart.find_first_not_of('0');
  intpart = z == std::string::npos ? "0" : intpart.substr(z);
  while (!frac.empty() && frac.back() == '0') frac.pop_back();
  std::string canon = intpart + (frac.empty() ? "" : "." + frac);
  if (negative && canon != "0") canon = "-" + canon;
  return Decimal{canon};
}

bool is_digit(char c) {
  return std::isdigit(static_cast<unsigned char>(c)) != 0;
}
bool is_alnum(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0;
}

}  // namespace

std::vector<ToolCall> extract_tool_calls(std::string_view text) {
  std::vector<ToolCall> calls;
  size_t pos = 0;
  while (true) {
    const size_t open = text.find(kOpen, pos);
    if (open == std::string_view::npos) break;
    const size_t body = open + kOpen.size();
    const size_t start = skip_space(text, body);
    // The payload ends where its JSON ends, if a closing tag follows there; otherwise at
    // the next closing tag (then the payload does not parse, or is not one object).
    size_t payload_end = std::string_view::npos, next = std::string_view::npos;
    if (start < text.size() && text[start] == '{') {
      const size_t e = json_span_end(text, start);
      if (e != std::string_view::npos) {
        const size_t c = skip_space(text, e);
        if (text.substr(c, kClose.size()) == kClose) payload_end = e, next = c + kClose.size();
      }
    }
    if (payload_end == std::string_view::npos) {
      const size_t c = text.find(kClose, body);
      if (c == std::string_view::npos) break;  // unclosed: not a call
      payload_end = c, next = c + kClose.size();
    }
    const std::string_view payload = text.substr(body, payload_end - body);
    const Json j = Json::parse(payload.begin(), payload.end(), nullptr, false);
    if (!j.is_discarded())
      if (auto c = call_of(j)) calls.push_back(std::move(*c));
    pos = next;
  }
  return calls;
}

bool has_tool_call_tag(std::string_view text) {
  return text.find(kOpen) != std::string_view::npos;
}

std::vector<ToolCall> reference_tool_calls(const Json& calls, const std::string& where) {
  LR_CHECK(calls.is_array(), where, ": \"tool_calls\" is not a list");
  std::vector<ToolCall> out;
  for (size_t k = 0; k < calls.size(); ++k) {
    const Json& c = calls[k];
    const Json& f = c.is_object() && c.contains("function") ? c["function"] : c;
    auto call = call_of(f);
    LR_CHECK(call, where, ": tool_calls[", k, "] has no string \"name\"");
    out.push_back(std::move(*call));
  }
  return out;
}

bool json_equal(const Json& a, const Json& b) {
  if (a.is_number() && b.is_number()) return number_equal(a, b);
  if (a.type() != b.type()) return false;
  if (a.is_object()) {
    if (a.size() != b.size()) return false;
    for (auto it = a.begin(); it != a.end(); ++it) {
      auto o = b.find(it.key());
      if (o == b.end() || !json_equal(it.value(), *o)) return false;
    }
    return true;
  }
  if (a.is_array()) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
      if (!json_equal(a[i], b[i])) return false;
    return true;
  }
  return a == b;
}

ToolCallTurnScore score_tool_call_turn(std::string_view pred_text,
                                       const std::vector<ToolCall>& ref) {
  ToolCallTurnScore s;
  s.ref_has_call = !ref.empty();
  if (!s.ref_has_call) {
    s.no_call_ok = !has_tool_call_tag(pred_text);
    return s;
  }
  const std::vector<ToolCall> pred = extract_tool_calls(pred_text);
  s.parsed = !pred.empty();
  s.names = pred.size() == ref.size();
  s.exact = s.names;
  for (size_t i = 0; i < pred.size() && s.names; ++i) {
    if (pred[i].name != ref[i].name)
      s.names = s.exact = false;
    else if (!json_equal(pred[i].arguments, ref[i].arguments))
      s.exact = false;
  }
  s.f1 = args_f1(pred, ref);
  return s;
}

void ToolCallMetrics::add(const ToolCallTurnScore& s) {
  ++n;
  if (s.ref_has_call) {
    ++n_call_turns;
    parsed += s.parsed, names += s.names, exact += s.exact;
    f1_sum += s.f1;
  } else {
    ++n_no_call_turns;
    no_call_ok += s.no_call_ok;
  }
}
double ToolCallMetrics::parse_rate() const {
  return share(parsed, n_call_turns);
}
double ToolCallMetrics::name_accuracy() const {
  return share(names, n_call_turns);
}
double ToolCallMetrics::args_exact_match() const {
  return share(exact, n_call_turns);
}
double ToolCallMetrics::args_f1() const {
  return n_call_turns > 0 ? f1_sum / n_call_turns : kNaN;
}
double ToolCallMetrics::no_call_accuracy() const {
  return share(no_call_ok, n_no_call_turns);
}
Json ToolCallMetrics::to_json() const {
  return Json{{"n", n},
              {"n_call_turns", n_call_turns},
              {"n_no_call_turns", n_no_call_turns},
              {"parse_rate", number_or_null(parse_rate())},
              {"name_accuracy", number_or_null(name_accuracy())},
              {"args_exact_match", number_or_null(args_exact_match())},
              {"args_f1", number_or_null(args_f1())},
              {"no_call_accuracy", number_or_null(no_call_accuracy())}};
}

std::vector<Decimal> find_numbers(std::string_view s) {
  std::vector<Decimal> out;
  size_t i = 0;
  while (i < s.size()) {
    const bool starts = is_digit(s[i]) || (s[i] == '.' && i + 1 < s.size() && is_digit(s[i + 1]));
    // A '.' right after a digit run was consumed with it, so here it is a bare ".5".
    if (!starts) {
      ++i;
      continue;
    }
    // A '-' directly before is a sign unless it joins two words or numbers ("3-4", "x-1").
    const bool negative = i > 0 && s[i - 1] == '-' && (i < 2 || !is_alnum(s[i - 2]));
    size_t end = i;
    out.push_back(read_number(s, i, negative, &end));
    i = end;
  }
  return out;
}

std::optional<Decimal> hash_answer(std::string_view text) {
  const size_t h = text.find("####");
  if (h == std::string_view::npos) return std::nullopt;
  // The sign lookbehind of find_numbers must see what precedes the number, so scan from
  // the marker on (its '#'s are not alphanumeric).
  const std::vector<Decimal> n = find_numbers(text.substr(h));
  if (n.empty()) return std::nullopt;
  return n.front();
}

std::optional<Decimal> last_number(std::string_view text) {
  const std::vector<Decimal> n = find_numbers(text);
  if (n.empty()) return std::nullopt;
  return n.back();
}

std::optional<Decimal> reference_answer(std::string_view answer) {
  if (answer.find("####") != std::string_view::npos) return hash_answer(answer);
  return last_number(answer);
}

Gsm8kTurnScore score_gsm8k_turn(std::string_view pred_text, const Decimal& ref) {
  Gsm8kTurnScore s;
  const auto h = hash_answer(pred_text);
  s.hash_ok = h && *h == ref;
  const auto l = last_number(pred_text);
  s.last_ok = l && *l == ref;
  return s;
}

void Gsm8kMetrics::add(const Gsm8kTurnScore& s, std::optional<bool> e) {
  ++n;
  hash_ok += s.hash_ok, last_ok += s.last_ok;
  if (e) ++n_end_known, ended += *e;
}
double Gsm8kMetrics::accuracy_hash() const {
  return share(hash_ok, n);
}
double Gsm8kMetrics::accuracy_last_number() const {
  return share(last_ok, n);
}
double Gsm8kMetrics::ended_rate() const {
  return share(ended, n_end_known);
}
Json Gsm8kMetrics::to_json() const {
  return Json{{"n", n},
              {"accuracy_hash", number_or_null(accuracy_hash())},
              {"accuracy_last_number", number_or_null(accuracy_last_number())},
              {"ended", number_or_null(ended_rate())},
              {"n_end_known", n_end_known}};
}

Json number_or_null(double v) {
  return std::isnan(v) ? Json(nullptr) : Json(v);
}

}  // namespace lr::eval
