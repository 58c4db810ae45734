#pragma once
// Errors a request earns, as OpenAI reports them: an HTTP status and
// {"error": {"message", "type", "param", "code"}}.
#include <string>

#include "core/error.h"
#include "io/json.h"

namespace lr::serve {

struct ApiError : Error {
  ApiError(int status, std::string type, std::string param, std::string code,
           const std::string& message)
      : Error(message),
        status(status),
        type(std::move(type)),
        param(std::move(param)),
        code(std::move(code)) {}
  int status;
  std::string type, param, code;  // param/code: "" is null
};

// 400 invalid_request_error naming the field at fault.
[[noreturn]] void bad_request(const std::string& param, const std::string& message,
                              const std::string& code = "");

// {"error": {...}}
Json error_body(const std::string& message, const std::string& type, const std::string& param,
                const std::string& code);
inline Json error_body(const ApiError& e) {
  return error_body(e.what(), e.type, e.param, e.code);
}

}  // namespace lr::serve
