#include "fedrad/coordinator/metrics.hpp"

#include <limits>
#include <stdexcept>
#include <string>

namespace fedrad::coordinator {

double AucFromHistograms(const std::vector<double>& neg, const std::vector<double>& pos) {
  if (neg.size() != pos.size()) {
    throw std::invalid_argument("AucFromHistograms: " + std::to_string(neg.size()) +
                                " negative bins but " + std::to_string(pos.size()) +
                                " positive bins");
  }
  // Mann-Whitney: Σ_b pos_b (negatives in lower bins + ½ negatives in bin b).
  double negatives_below = 0.0;
  double pairs = 0.0;
  double n_pos = 0.0;
  for (std::size_t b = 0; b < neg.size(); ++b) {
    pairs += pos[b] * (negatives_below + 0.5 * neg[b]);
    negatives_below += neg[b];
    n_pos += pos[b];
  }
  const double n_neg = negatives_below;
  if (!(n_pos > 0.0) || !(n_neg > 0.0)) return std::numeric_limits<double>::quiet_NaN();
  return pairs / (n_pos * n_neg);
}

}  // namespace fedrad::coordinator
