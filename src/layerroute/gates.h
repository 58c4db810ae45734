#pragma once
// How a routed session decides which blocks run: the routers, all open, or a fixed mask.
#include <string>
#include <vector>

namespace lr {

enum class GateMode { Router, Open, Mask };

struct GateSpec {
  GateMode mode = GateMode::Router;
  std::string bits;  // Mask: one char per block, '1' runs, '0' skips

  // "router" | "open" | "mask:BITS"; throws a one-line lr::Error naming the bad value.
  static GateSpec parse(const std::string& s);
  static GateSpec mask(const std::string& bits) { return parse("mask:" + bits); }
  // Throws unless a mask has exactly n_layers bits.
  void check(int n_layers) const;
  // False only where a mask closes `block` (bounds: see check).
  bool mask_opens(int block) const { return mode != GateMode::Mask || bits[size_t(block)] == '1'; }
  std::string str() const;
};

// "111001..." from a 0/1 gate vector.
std::string gate_string(const std::vector<unsigned char>& gates);

}  // namespace lr
