#include "layerroute/gates.h"

#include "core/error.h"

namespace lr {

GateSpec GateSpec::parse(const std::string& s) {
  GateSpec g;
  if (s == "router") return g;
  if (s == "open") {
    g.mode = GateMode::Open;
    return g;
  }
  LR_CHECK(s.rfind("mask:", 0) == 0, "--gates: '", s, "' is not router, open or mask:BITS");
  g.mode = GateMode::Mask;
  g.bits = s.substr(5);
  LR_CHECK(!g.bits.empty() && g.bits.find_first_not_of("01") == std::string::npos, "--gates: '", s,
           "': the mask must be one 0/1 character per block");
  return g;
}

void GateSpec::check(int n_layers) const {
  if (mode != GateMode::Mask) return;
  LR_CHECK(int(bits.size()) == n_layers, "--gates: mask:", bits, " has ", bits.size(),
           " bits, the model has ", n_layers, " blocks");
}

std::string GateSpec::str() const {
  switch (mode) {
    case GateMode::Router:
      return "router";
    case GateMode::Open:
      return "open";
    case GateMode::Mask:
      break;
  }
  return "mask:" + bits;
}

std::string gate_string(const std::vector<unsigned char>& gates) {
  std::string s;
  for (unsigned char g : gates) s += g ? '1' : '0';
  return s;
}

}  // namespace lr
