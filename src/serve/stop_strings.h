#pragma once
// OpenAI's `stop`: generation ends before the first occurrence of any stop string, which
// is not returned. Text that may be the start of one is held back until it is decided.
#include <string>
#include <string_view>
#include <vector>

namespace lr::serve {

class StopStrings {
 public:
  explicit StopStrings(std::vector<std::string> stops) : stops_(std::move(stops)) {}
  // Text safe to pass on; after a match, stopped() is true and later pushes return "".
  std::string push(std::string_view text);
  std::string finish();  // the held-back rest (no stop string matched)
  bool stopped() const { return stopped_; }

 private:
  std::vector<std::string> stops_;
  std::string held_;
  bool stopped_ = false;
};

}  // namespace lr::serve
