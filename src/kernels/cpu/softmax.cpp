#include "kernels/cpu/softmax.h"

#include <cmath>

namespace lr {

void softmax(float* x, int rows, int n) {
  for (int r = 0; r < rows; ++r) {
    float* v = x + size_t(r) * n;
    float mx = v[0];
    for (int i = 1; i < n; ++i) mx = v[i] > mx ? v[i] : mx;
    double sum = 0.0;
    for (int i = 0; i < n; ++i) {
      v[i] = std::exp(v[i] - mx);
      sum += v[i];
    }
    const float inv = float(1.0 / sum);
    for (int i = 0; i < n; ++i) v[i] *= inv;
  }
}

}  // namespace lr
