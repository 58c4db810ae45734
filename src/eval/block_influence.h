#pragma once
// Router-free block importance for the matched-compute baselines (ShortGPT's block
// influence): BI_l = 1 - cos(h_in, h_out) of block l, averaged over every token of the
// calibration prompts, every block running. A block that barely turns its input is the
// cheapest to drop.
#include <string>
#include <vector>

#include "model/forward.h"

namespace lr::eval {

// BI per block [L]; lora (nullptr: none) is applied as in inference. Tokens whose input or
// output state is zero count as cos = 1 (no turn). Throws lr::Error on an empty prompt set
// or an id outside the vocabulary.
std::vector<double> block_influence(const Model& model, const LowRankDeltas* lora,
                                    const std::vector<std::vector<int>>& prompts);

// The `k` blocks a static mask closes: the k lowest scores (ties: the lower block), as a
// mask string of L chars ('1' runs).
std::string lowest_k_mask(const std::vector<double>& score, int k);

// `draws` masks closing k blocks chosen uniformly at random (seeded, reproducible).
std::vector<std::string> random_k_masks(int n_layers, int k, int draws, uint64_t seed);

}  // namespace lr::eval
