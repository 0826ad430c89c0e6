// Writing a table in liblinear's input format for the peer-reference tests
// (liblinear-train from Debian's liblinear-tools).
#pragma once

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "fedrad/site_agent/stats/providers.hpp"

namespace fedrad::testing {

// Writes `t` (raw features, label 1 -> "+1", 0 -> "-1", features 1-based,
// %.17g) to `path`. liblinear's positive class is the first label of its
// input, so a label-1 row goes first: +1 is label 1 as in fedrad.
inline void WriteLiblinearFile(const site_agent::stats::LocalTable& t, const std::string& path) {
  std::ofstream out(path);
  std::vector<Eigen::Index> order;
  for (Eigen::Index i = 0; i < t.x.rows() && order.empty(); ++i) {
    if (t.y[i] == 1.0) order.push_back(i);
  }
  for (Eigen::Index i = 0; i < t.x.rows(); ++i) {
    if (order.empty() || i != order.front()) order.push_back(i);
  }
  char buf[64];
  for (Eigen::Index i : order) {
    out << (t.y[i] == 1.0 ? "+1" : "-1");
    for (Eigen::Index j = 0; j < t.x.cols(); ++j) {
      std::snprintf(buf, sizeof buf, " %lld:%.17g", static_cast<long long>(j + 1), t.x(i, j));
      out << buf;
    }
    out << "\n";
  }
}

}  // namespace fedrad::testing
