#include "serve/api_error.h"

namespace lr::serve {

void bad_request(const std::string& param, const std::string& message, const std::string& code) {
  throw ApiError(400, "invalid_request_error", param, code, message);
}

Json error_body(const std::string& message, const std::string& type, const std::string& param,
                const std::string& code) {
  Json e = Json::object();
  e["message"] = message;
  e["type"] = type;
  e["param"] = param.empty() ? Json() : Json(param);
  e["code"] = code.empty() ? Json() : Json(code);
  return Json{{"error", e}};
}

}  // namespace lr::serve
