// Performance measures computed from aggregated statistics.
#pragma once

#include <vector>

namespace fedrad::coordinator {

// AUC (Mann-Whitney) from per-class counts over the same ordered bins of a
// monotone score map: pairs (negative in bin a, positive in bin b) count 1
// if a < b and ½ if a == b. Exact when no two cases of different classes
// share a bin; otherwise ties within a bin count ½ (which is exact for tied
// scores). NaN if either class is empty. neg and pos must have equal sizes.
double AucFromHistograms(const std::vector<double>& neg, const std::vector<double>& pos);

}  // namespace fedrad::coordinator
