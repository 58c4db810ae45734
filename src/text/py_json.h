#pragma once
// JSON text exactly as Python's json.dumps(x, ensure_ascii=False) writes it, with the
// default separators ", " and ": " and key order kept. Chat templates print tool schemas
// and call arguments through jinja's `tojson`, which transformers maps to json.dumps, so
// the prompt a model was trained on depends on these bytes.
//
// Limits: nlohmann stores integers beyond the 64-bit range as doubles, so such integers
// come out as Python floats would ("1.2345678901234568e+29"), not as Python ints.
#include <string>
#include <string_view>

#include "io/json.h"

namespace lr {

// json.dumps(x, ensure_ascii=False).
std::string py_json_dumps(const Json& j);
void py_json_append(std::string& out, const Json& j);

// A JSON string literal as Python writes it: \" \\ \n \r \t \b \f, other control
// characters as \u00xx (lowercase hex), everything else (UTF-8 included) raw.
void py_json_append_string(std::string& out, std::string_view s);

// repr(float): the shortest digits that round-trip, in exponent form when the decimal
// exponent is < -4 or >= 16 ("1e-05", "1e+16"), else positional with at least ".0".
// NaN and infinities as json.dumps writes them: NaN, Infinity, -Infinity.
std::string py_float_repr(double x);

}  // namespace lr
