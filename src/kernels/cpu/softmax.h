#pragma once
// Numerically stable softmax (max subtracted) over each row, in place.
namespace lr {

// x [rows, n]
void softmax(float* x, int rows, int n);

}  // namespace lr
