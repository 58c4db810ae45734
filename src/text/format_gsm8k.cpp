// GSM8K ({"question", "answer"} JSONL, answer = worked solution ending "#### N") and
// Turing-Open-Reasoning (the same two fields): one user turn, one assistant turn.
#include "text/dataset_formats.h"

namespace lr::dataset_detail {

Sample parse_qa_row(const Json& row) {
  if (!row.is_object()) throw RowError("row is not a JSON object");
  const std::string& q = get_string(row, "question");
  const std::string& a = get_string(row, "answer");
  if (trim(q).empty() || trim(a).empty()) throw RowError("empty question or answer");
  Sample s;
  s.label = StepLabel::Planning;  // provenance: reasoning without tools
  s.messages = Json::array({message("user", q), message("assistant", a)});
  return s;
}

}  // namespace lr::dataset_detail
