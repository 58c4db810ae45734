#include "model/generation_config.h"

#include <climits>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"
#include "io/json.h"

namespace lr {

GenerationConfig GenerationConfig::load(const std::string& dir) {
  GenerationConfig g;
  const std::string path = dir + "/generation_config.json";
  if (!std::filesystem::exists(path)) return g;
  std::ifstream in(path);
  LR_CHECK(in, path, ": cannot read");
  std::ostringstream text;
  text << in.rdbuf();
  check_json_depth(text.str(), path);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text.str());
    // nlohmann would cast a float such as 1e300 to int, which is undefined behaviour.
    const auto token_id = [&](const nlohmann::json& x) {
      LR_CHECK(
          x.is_number_integer() &&
              (x.is_number_unsigned() ? x.get<uint64_t>() <= uint64_t(INT_MAX)
                                      : x.get<int64_t>() >= INT_MIN && x.get<int64_t>() <= INT_MAX),
          path, ": eos_token_id must be an integer or a list of them, got ",
          x.is_number() ? x.dump() : std::string(x.type_name()));
      return x.get<int>();
    };
    if (j.contains("eos_token_id") && !j["eos_token_id"].is_null()) {
      const auto& e = j["eos_token_id"];
      if (e.is_array())
        for (const auto& x : e) g.eos_ids.push_back(token_id(x));
      else
        g.eos_ids.push_back(token_id(e));
    }
    if (j.contains("bos_token_id") && j["bos_token_id"].is_number_integer())
      g.bos_id = j["bos_token_id"].get<int>();
    if (j.contains("do_sample")) g.do_sample = j["do_sample"].get<bool>();
    if (j.contains("temperature") && j["temperature"].is_number())
      g.temperature = j["temperature"].get<float>();
    if (j.contains("top_p") && j["top_p"].is_number()) g.top_p = j["top_p"].get<float>();
    if (j.contains("top_k") && j["top_k"].is_number_integer()) g.top_k = j["top_k"].get<int>();
  } catch (const nlohmann::json::exception& e) {
    fail(path, ": ", e.what());
  }
  return g;
}

}  // namespace lr
