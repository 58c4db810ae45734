#include "demo/synth_traces.h"

#include <array>
#include <random>
#include <vector>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/json.h"

namespace lr {

namespace {

using Rng = std::mt19937_64;

template <typename T, size_t N>
const T& pick(Rng& r, const std::array<T, N>& a) {
  return a[std::uniform_int_distribution<size_t>(0, N - 1)(r)];
}
int uniform(Rng& r, int lo, int hi) {
  return std::uniform_int_distribution<int>(lo, hi)(r);
}

const std::array<const char*, 12> kCities = {"Paris",   "Tokyo",  "Lima",   "Cairo",
                                             "Oslo",    "Denver", "Madrid", "Seoul",
                                             "Nairobi", "Dublin", "Hanoi",  "Quito"};
const std::array<const char*, 8> kCurrencies = {"USD", "EUR", "JPY", "GBP",
                                                "CHF", "CAD", "AUD", "INR"};
const std::array<const char*, 8> kSymbols = {"AAPL", "MSFT", "NVDA", "AMZN",
                                             "TSLA", "IBM",  "ORCL", "SAP"};
const std::array<const char*, 10> kNames = {"Lily", "Omar",  "Mei",  "Tom",  "Ana",
                                            "Ravi", "Sofia", "Jack", "Yuki", "Ben"};
const std::array<const char*, 6> kItems = {"apples",  "pencils", "stickers",
                                           "cookies", "marbles", "books"};

// One tool: its schema and a generator of (user request, arguments, result, answer).
struct ToolCase {
  std::string user;
  Json args, result;
  std::string answer;
};
struct Tool {
  Json schema;
  ToolCase (*make)(Rng&);
};

Json schema(const char* name, const char* desc, Json props, Json required) {
  return Json{
      {"type", "function"},
      {"function",
       {{"name", name},
        {"description", desc},
        {"parameters", {{"type", "object"}, {"properties", props}, {"required", required}}}}}};
}

ToolCase weather(Rng& r) {
  const std::string city = pick(r, kCities);
  const bool f = uniform(r, 0, 1);
  const int t = uniform(r, -5, 35);
  const int shown = f ? t * 9 / 5 + 32 : t;
  const std::array<const char*, 4> sky = {"sunny", "cloudy", "rainy", "windy"};
  const std::string cond = pick(r, sky);
  const std::array<std::string, 3> asks = {"What's the weather in " + city + "?",
                                           "Is it cold in " + city + " right now?",
                                           "Tell me the current weather for " + city + "."};
  ToolCase c;
  c.user = pick(r, asks) + (f ? " Use fahrenheit." : "");
  c.args = {{"city", city}, {"unit", f ? "fahrenheit" : "celsius"}};
  c.result = {{"temperature", shown}, {"condition", cond}};
  c.answer =
      "It is " + std::to_string(shown) + (f ? " F" : " C") + " and " + cond + " in " + city + ".";
  return c;
}

ToolCase currency(Rng& r) {
  const int amount = uniform(r, 1, 500) * 10;
  std::string from = pick(r, kCurrencies), to = pick(r, kCurrencies);
  while (to == from) to = pick(r, kCurrencies);
  const double rate = uniform(r, 20, 180) / 100.0;
  const int out = int(amount * rate);
  ToolCase c;
  c.user = "Convert " + std::to_string(amount) + " " + from + " to " + to + ", please.";
  c.args = {{"amount", amount}, {"from_currency", from}, {"to_currency", to}};
  c.result = {{"converted_amount", out}, {"currency", to}};
  c.answer =
      std::to_string(amount) + " " + from + " is about " + std::to_string(out) + " " + to + ".";
  return c;
}

ToolCase stock(Rng& r) {
  const std::string s = pick(r, kSymbols);
  const int price = uniform(r, 20, 900);
  ToolCase c;
  c.user = "What is the stock price of " + s + " today?";
  c.args = {{"symbol", s}};
  c.result = {{"symbol", s}, {"price", price}};
  c.answer = s + " is trading at " + std::to_string(price) + " dollars.";
  return c;
}

ToolCase flights(Rng& r) {
  std::string a = pick(r, kCities), b = pick(r, kCities);
  while (b == a) b = pick(r, kCities);
  const int day = uniform(r, 1, 28), n = uniform(r, 0, 4);
  const std::string date = "2025-0" + std::to_string(uniform(r, 1, 9)) + "-" +
                           (day < 10 ? "0" : "") + std::to_string(day);
  ToolCase c;
  c.user = "Find me flights from " + a + " to " + b + " on " + date + ".";
  c.args = {{"origin", a}, {"destination", b}, {"date", date}};
  c.result = {{"flights_found", n}};
  c.answer = n == 0 ? "There are no flights from " + a + " to " + b + " on that date."
                    : "I found " + std::to_string(n) + " flights from " + a + " to " + b + ".";
  return c;
}

ToolCase reminder(Rng& r) {
  const int h = uniform(r, 6, 21), m = uniform(r, 0, 3) * 15;
  const std::string time = std::to_string(h) + ":" + (m == 0 ? "00" : std::to_string(m));
  const std::array<const char*, 5> what = {"call mom", "buy milk", "water the plants",
                                           "send the report", "book a dentist"};
  const std::string task = pick(r, what);
  ToolCase c;
  c.user = "Remind me to " + task + " at " + time + ".";
  c.args = {{"time", time}, {"text", task}};
  c.result = {{"status", "scheduled"}};
  c.answer = "Done: I will remind you to " + task + " at " + time + ".";
  return c;
}

const std::array<Tool, 5>& tools() {
  static const std::array<Tool, 5> t = {
      Tool{schema("get_weather", "Current weather for a city",
                  {{"city", {{"type", "string"}}},
                   {"unit", {{"type", "string"}, {"enum", {"celsius", "fahrenheit"}}}}},
                  {"city"}),
           weather},
      Tool{schema("convert_currency", "Convert an amount between currencies",
                  {{"amount", {{"type", "number"}}},
                   {"from_currency", {{"type", "string"}}},
                   {"to_currency", {{"type", "string"}}}},
                  {"amount", "from_currency", "to_currency"}),
           currency},
      Tool{schema("get_stock_price", "Latest price of a stock", {{"symbol", {{"type", "string"}}}},
                  {"symbol"}),
           stock},
      Tool{schema("search_flights", "Search flights for a date",
                  {{"origin", {{"type", "string"}}},
                   {"destination", {{"type", "string"}}},
                   {"date", {{"type", "string"}}}},
                  {"origin", "destination", "date"}),
           flights},
      Tool{schema("set_reminder", "Schedule a reminder",
                  {{"time", {{"type", "string"}}}, {"text", {{"type", "string"}}}},
                  {"time", "text"}),
           reminder},
  };
  return t;
}

// "name(a, b): description\n" from a function schema.
std::string signature(const Json& schema) {
  const Json& f = schema["function"];
  std::string args;
  for (const auto& [key, v] : f["parameters"]["properties"].items()) {
    (void)v;
    args += (args.empty() ? "" : ", ") + key;
  }
  return f["name"].get<std::string>() + "(" + args + "): " + f["description"].get<std::string>() +
         "\n";
}

// A Hermes record: the called tool plus one distractor are offered in the system prompt.
Json tool_record(Rng& r, int index) {
  const auto& all = tools();
  const size_t k = std::uniform_int_distribution<size_t>(0, all.size() - 1)(r);
  size_t other = std::uniform_int_distribution<size_t>(0, all.size() - 2)(r);
  if (other >= k) ++other;
  ToolCase c = all[k].make(r);
  const std::string name = all[k].schema["function"]["name"].get<std::string>();
  // Signatures rather than full JSON schemas keep samples short enough for a small model
  // trained in minutes; the <tools> block and <tool_call> JSON follow the Hermes layout.
  std::string listed;
  for (size_t i : {std::min(k, other), std::max(k, other)}) listed += signature(all[i].schema);
  const std::string sys = "You can call these tools:\n<tools>\n" + listed + "</tools>";
  const Json call = {{"name", name}, {"arguments", c.args}};
  const Json resp = {{"name", name}, {"content", c.result}};
  Json conv = Json::array();
  conv.push_back({{"from", "system"}, {"value", sys}});
  conv.push_back({{"from", "human"}, {"value", c.user}});
  conv.push_back({{"from", "gpt"}, {"value", "<tool_call>\n" + call.dump() + "\n</tool_call>"}});
  conv.push_back(
      {{"from", "tool"}, {"value", "<tool_response>\n" + resp.dump() + "\n</tool_response>"}});
  conv.push_back({{"from", "gpt"}, {"value", c.answer}});
  return Json{{"id", "synth-tool-" + std::to_string(index)}, {"conversations", conv}};
}

std::string calc(long a, char op, long b, long res) {
  return std::to_string(a) + op + std::to_string(b) + " = <<" + std::to_string(a) + op +
         std::to_string(b) + "=" + std::to_string(res) + ">>" + std::to_string(res);
}

// A GSM8K-style word problem with two to four reasoning steps.
Json planning_record(Rng& r) {
  const std::string who = pick(r, kNames), item = pick(r, kItems);
  const int kind = uniform(r, 0, 3);
  std::string q, a;
  long result = 0;
  if (kind == 0) {
    const long boxes = uniform(r, 2, 9), each = uniform(r, 3, 15), given = uniform(r, 1, 20);
    const long total = boxes * each;
    result = total - given;
    q = who + " has " + std::to_string(boxes) + " boxes with " + std::to_string(each) + " " + item +
        " in each box. " + who + " gives away " + std::to_string(given) + " " + item +
        ". How many " + item + " does " + who + " have left?";
    a = who + " starts with " + calc(boxes, '*', each, total) + " " + item + ".\nAfter giving " +
        "some away, " + who + " has " + calc(total, '-', given, result) + " " + item + " left.";
  } else if (kind == 1) {
    const long price = uniform(r, 2, 12), n = uniform(r, 2, 10), paid = 100;
    const long cost = price * n;
    result = paid - cost;
    q = who + " buys " + std::to_string(n) + " " + item + " that cost $" + std::to_string(price) +
        " each and pays with a $100 bill. How much change does " + who + " get?";
    a = "The " + item + " cost " + calc(price, '*', n, cost) + " dollars.\nThe change is " +
        calc(paid, '-', cost, result) + " dollars.";
  } else if (kind == 2) {
    const long per_day = uniform(r, 2, 9), days = uniform(r, 3, 7), extra = uniform(r, 1, 12);
    const long week = per_day * days;
    result = week + extra;
    q = "Every day " + who + " reads " + std::to_string(per_day) + " pages. After " +
        std::to_string(days) + " days " + who + " reads " + std::to_string(extra) +
        " more pages at once. How many pages has " + who + " read in total?";
    a = "In " + std::to_string(days) + " days " + who + " reads " + calc(per_day, '*', days, week) +
        " pages.\nWith the extra pages the total is " + calc(week, '+', extra, result) + ".";
  } else {
    const long groups = uniform(r, 2, 6), per = uniform(r, 2, 8), share = groups * per;
    const long kids = uniform(r, 2, 4) * 1;
    const long total = share * kids;
    result = total / groups;
    q = who + " has " + std::to_string(kids) + " bags of " + std::to_string(share) + " " + item +
        " and splits all of them equally among " + std::to_string(groups) + " friends. How many " +
        item + " does each friend get?";
    a = "There are " + calc(kids, '*', share, total) + " " + item + " in all.\nEach friend gets " +
        calc(total, '/', groups, result) + " " + item + ".";
  }
  a += "\n#### " + std::to_string(result);
  return Json{{"question", q}, {"answer", a}};
}

}  // namespace

std::string synth_tool_path(const std::string& dir, const std::string& prefix) {
  return dir + "/" + prefix + "_tool_calls.json";
}
std::string synth_planning_path(const std::string& dir, const std::string& prefix) {
  return dir + "/" + prefix + "_planning.jsonl";
}

SynthCounts write_synth_traces(const std::string& dir, const std::string& prefix, int n_tool,
                               int n_plan, uint64_t seed) {
  LR_CHECK(n_tool >= 0 && n_plan >= 0, "synthetic traces: counts must be >= 0");
  Rng r(seed);
  Json records = Json::array();
  for (int i = 0; i < n_tool; ++i) records.push_back(tool_record(r, i));
  write_file_atomic(synth_tool_path(dir, prefix), records.dump(2) + "\n");
  std::string lines;
  for (int i = 0; i < n_plan; ++i) lines += planning_record(r).dump() + "\n";
  write_file_atomic(synth_planning_path(dir, prefix), lines);
  return {n_tool, n_plan};
}

}  // namespace lr
