#pragma once
// Numerically stable softmax (max subtracted) over each row, in place.
namespace lr {

// x [rows, n]
void softmax(float* x, int rows, int n);

// The largest of x[0..n) (-inf for n = 0), vectorised: a scalar max loop does not
// vectorise (NaN rules) and was ~40 % of the attention kernel's own time at 4000 keys.
float row_max(const float* x, int n);

}  // namespace lr
