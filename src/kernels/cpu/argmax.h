#pragma once
// Index of the largest value; the first one on ties (what greedy decoding expects).
namespace lr {

int argmax(const float* x, int n);

}  // namespace lr
