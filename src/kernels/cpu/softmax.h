#pragma once
// Numerically stable softmax (max subtracted) over each row, in place.
namespace lr {

// x [rows, n]
void softmax(float* x, int rows, int n);

// The largest of x[0..n) (-inf for n = 0), vectorised: a scalar max loop does not
// vectorise (NaN rules), and attention takes one per row and key tile.
float row_max(const float* x, int n);

}  // namespace lr
