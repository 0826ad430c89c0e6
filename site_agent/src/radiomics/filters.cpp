// Padding, the separable 1D pass engine, the mean filter, the PyRadiomics
// intensity transforms, gradient magnitude, LBP 2D, parameter checks and the
// FilterSpec dispatcher. See filters.hpp for the maths and conventions.
#include "fedrad/site_agent/radiomics/filters.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <numbers>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "filters_internal.hpp"

namespace fedrad::site_agent::radiomics {

namespace filter_detail {

Taps ConvolutionTaps(const std::vector<double>& kernel, int centre) {
  // out[x] = sum_i k[i] in[x + centre - i]: offset d = centre - i runs from
  // centre - (n - 1) (i = n - 1) up to centre (i = 0).
  Taps taps;
  const int n = static_cast<int>(kernel.size());
  taps.first = centre - (n - 1);
  taps.w.assign(kernel.rbegin(), kernel.rend());
  return taps;
}

Taps Mirrored(const Taps& taps) {
  Taps out;
  const int n = static_cast<int>(taps.w.size());
  out.first = -(taps.first + n - 1);
  out.w.assign(taps.w.rbegin(), taps.w.rend());
  return out;
}

namespace {

// The inner kernels compute 8 outputs at a time with the accumulators in
// registers (independent chains, vectorised by the compiler at -O2); each
// output is sum_t w[t] * src[t][x], i.e. the same sum in the same order as a
// plain loop, so the result does not depend on the blocking.

// A 1D pass as a list of weighted source lines: out[x] = sum_t w[t] src[t][x]
// (general taps), or out[x] = wc c[x] + sum_t w[t] (a[t][x] + b[t][x])
// (taps symmetric about offset 0: each pair is folded before multiplying).
struct LinePlan {
  bool symmetric = false;
  double wc = 0.0;
  const double* centre = nullptr;
  std::vector<double> w;
  std::vector<const double*> a;
  std::vector<const double*> b;  // symmetric only
};

// The two kernels below are the filters' inner loops. They are also compiled
// for AVX2 (selected at run time, so the binary still runs on any x86-64):
// the same multiplications and additions in the same order, 4 lanes wide
// instead of 2, so the results are bit for bit those of the baseline build
// (FMA is not enabled, so no multiply-add is contracted).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define FEDRAD_FILTER_KERNEL __attribute__((target_clones("avx2", "default")))
#else
#define FEDRAD_FILTER_KERNEL
#endif

// out[x] (+)= sum_t w[t] * a[t][x], x in [0, width).
FEDRAD_FILTER_KERNEL void WeightedSum(const LinePlan& plan, double* __restrict out, int width,
                                      bool accumulate) {
  const int count = static_cast<int>(plan.w.size());
  const double* w = plan.w.data();
  const double* const* src = plan.a.data();
  int x = 0;
  for (; x + 8 <= width; x += 8) {
    double a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
    if (accumulate) {
      a0 = out[x], a1 = out[x + 1], a2 = out[x + 2], a3 = out[x + 3];
      a4 = out[x + 4], a5 = out[x + 5], a6 = out[x + 6], a7 = out[x + 7];
    }
    for (int t = 0; t < count; ++t) {
      const double* s = src[t] + x;
      const double wt = w[t];
      a0 += wt * s[0], a1 += wt * s[1], a2 += wt * s[2], a3 += wt * s[3];
      a4 += wt * s[4], a5 += wt * s[5], a6 += wt * s[6], a7 += wt * s[7];
    }
    out[x] = a0, out[x + 1] = a1, out[x + 2] = a2, out[x + 3] = a3;
    out[x + 4] = a4, out[x + 5] = a5, out[x + 6] = a6, out[x + 7] = a7;
  }
  for (; x < width; ++x) {
    double acc = accumulate ? out[x] : 0.0;
    for (int t = 0; t < count; ++t) acc += w[t] * src[t][x];
    out[x] = acc;
  }
}

// out[x] (+)= wc * c[x] + sum_t w[t] * (a[t][x] + b[t][x]), x in [0, width).
FEDRAD_FILTER_KERNEL void WeightedPairSum(const LinePlan& plan, double* __restrict out, int width,
                                          bool accumulate) {
  const int count = static_cast<int>(plan.w.size());
  const double* w = plan.w.data();
  const double* const* pa = plan.a.data();
  const double* const* pb = plan.b.data();
  const double wc = plan.wc;
  const double* c = plan.centre;
  int x = 0;
  // 16 outputs at a time in four 4-lane vectors (GCC vector extensions:
  // element-wise, so each lane is the same sum as the scalar loop below;
  // four AVX2 or eight SSE2 registers), then 8, then one by one.
  using V4 = double __attribute__((vector_size(32)));
  V4 va0, va1, va2, va3, vs0, vs1, vs2, vs3, vu0, vu1, vu2, vu3;
  for (; x + 16 <= width; x += 16) {
    std::memcpy(&vs0, c + x, sizeof(V4));
    std::memcpy(&vs1, c + x + 4, sizeof(V4));
    std::memcpy(&vs2, c + x + 8, sizeof(V4));
    std::memcpy(&vs3, c + x + 12, sizeof(V4));
    va0 = wc * vs0, va1 = wc * vs1, va2 = wc * vs2, va3 = wc * vs3;
    for (int t = 0; t < count; ++t) {
      const double* s = pa[t] + x;
      const double* u = pb[t] + x;
      const double wt = w[t];
      std::memcpy(&vs0, s, sizeof(V4));
      std::memcpy(&vs1, s + 4, sizeof(V4));
      std::memcpy(&vs2, s + 8, sizeof(V4));
      std::memcpy(&vs3, s + 12, sizeof(V4));
      std::memcpy(&vu0, u, sizeof(V4));
      std::memcpy(&vu1, u + 4, sizeof(V4));
      std::memcpy(&vu2, u + 8, sizeof(V4));
      std::memcpy(&vu3, u + 12, sizeof(V4));
      va0 += wt * (vs0 + vu0), va1 += wt * (vs1 + vu1), va2 += wt * (vs2 + vu2),
          va3 += wt * (vs3 + vu3);
    }
    if (accumulate) {
      std::memcpy(&vs0, out + x, sizeof(V4));
      std::memcpy(&vs1, out + x + 4, sizeof(V4));
      std::memcpy(&vs2, out + x + 8, sizeof(V4));
      std::memcpy(&vs3, out + x + 12, sizeof(V4));
      va0 += vs0, va1 += vs1, va2 += vs2, va3 += vs3;
    }
    std::memcpy(out + x, &va0, sizeof(V4));
    std::memcpy(out + x + 4, &va1, sizeof(V4));
    std::memcpy(out + x + 8, &va2, sizeof(V4));
    std::memcpy(out + x + 12, &va3, sizeof(V4));
  }
  for (; x + 8 <= width; x += 8) {
    double a0 = wc * c[x], a1 = wc * c[x + 1], a2 = wc * c[x + 2], a3 = wc * c[x + 3];
    double a4 = wc * c[x + 4], a5 = wc * c[x + 5], a6 = wc * c[x + 6], a7 = wc * c[x + 7];
    for (int t = 0; t < count; ++t) {
      const double* s = pa[t] + x;
      const double* u = pb[t] + x;
      const double wt = w[t];
      a0 += wt * (s[0] + u[0]), a1 += wt * (s[1] + u[1]), a2 += wt * (s[2] + u[2]);
      a3 += wt * (s[3] + u[3]), a4 += wt * (s[4] + u[4]), a5 += wt * (s[5] + u[5]);
      a6 += wt * (s[6] + u[6]), a7 += wt * (s[7] + u[7]);
    }
    if (accumulate) {
      a0 += out[x], a1 += out[x + 1], a2 += out[x + 2], a3 += out[x + 3];
      a4 += out[x + 4], a5 += out[x + 5], a6 += out[x + 6], a7 += out[x + 7];
    }
    out[x] = a0, out[x + 1] = a1, out[x + 2] = a2, out[x + 3] = a3;
    out[x + 4] = a4, out[x + 5] = a5, out[x + 6] = a6, out[x + 7] = a7;
  }
  for (; x < width; ++x) {
    double acc = wc * c[x];
    for (int t = 0; t < count; ++t) acc += w[t] * (pa[t][x] + pb[t][x]);
    out[x] = accumulate ? acc + out[x] : acc;
  }
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define FEDRAD_HAVE_AVX512_PAIR_SUM 1
// WeightedPairSum for AVX-512F (selected at run time where the CPU and OS
// support it): 32 outputs at a time in four 8-lane vectors, then 8, then one
// by one. Every output is the same sum in the same order as in
// WeightedPairSum (wc * c, then + w[t] * (a[t] + b[t]) for t ascending, then
// + out when accumulating), only more outputs per instruction; contraction
// into fused multiply-adds (which AVX-512F would allow) is switched off, so
// the results are bit for bit those of the other kernels.
#pragma GCC push_options
#pragma GCC optimize("fp-contract=off")
__attribute__((target("avx512f"))) void WeightedPairSumAvx512(const LinePlan& plan,
                                                              double* __restrict out, int width,
                                                              bool accumulate) {
  const int count = static_cast<int>(plan.w.size());
  const double* w = plan.w.data();
  const double* const* pa = plan.a.data();
  const double* const* pb = plan.b.data();
  const double wc = plan.wc;
  const double* c = plan.centre;
  using V8 = double __attribute__((vector_size(64)));
  V8 va0, va1, va2, va3, vs0, vs1, vs2, vs3, vu0, vu1, vu2, vu3;
  int x = 0;
  for (; x + 32 <= width; x += 32) {
    std::memcpy(&vs0, c + x, sizeof(V8));
    std::memcpy(&vs1, c + x + 8, sizeof(V8));
    std::memcpy(&vs2, c + x + 16, sizeof(V8));
    std::memcpy(&vs3, c + x + 24, sizeof(V8));
    va0 = wc * vs0, va1 = wc * vs1, va2 = wc * vs2, va3 = wc * vs3;
    for (int t = 0; t < count; ++t) {
      const double* s = pa[t] + x;
      const double* u = pb[t] + x;
      const double wt = w[t];
      std::memcpy(&vs0, s, sizeof(V8));
      std::memcpy(&vs1, s + 8, sizeof(V8));
      std::memcpy(&vs2, s + 16, sizeof(V8));
      std::memcpy(&vs3, s + 24, sizeof(V8));
      std::memcpy(&vu0, u, sizeof(V8));
      std::memcpy(&vu1, u + 8, sizeof(V8));
      std::memcpy(&vu2, u + 16, sizeof(V8));
      std::memcpy(&vu3, u + 24, sizeof(V8));
      va0 += wt * (vs0 + vu0), va1 += wt * (vs1 + vu1), va2 += wt * (vs2 + vu2),
          va3 += wt * (vs3 + vu3);
    }
    if (accumulate) {
      std::memcpy(&vs0, out + x, sizeof(V8));
      std::memcpy(&vs1, out + x + 8, sizeof(V8));
      std::memcpy(&vs2, out + x + 16, sizeof(V8));
      std::memcpy(&vs3, out + x + 24, sizeof(V8));
      va0 += vs0, va1 += vs1, va2 += vs2, va3 += vs3;
    }
    std::memcpy(out + x, &va0, sizeof(V8));
    std::memcpy(out + x + 8, &va1, sizeof(V8));
    std::memcpy(out + x + 16, &va2, sizeof(V8));
    std::memcpy(out + x + 24, &va3, sizeof(V8));
  }
  for (; x + 8 <= width; x += 8) {
    std::memcpy(&vs0, c + x, sizeof(V8));
    va0 = wc * vs0;
    for (int t = 0; t < count; ++t) {
      const double wt = w[t];
      std::memcpy(&vs0, pa[t] + x, sizeof(V8));
      std::memcpy(&vu0, pb[t] + x, sizeof(V8));
      va0 += wt * (vs0 + vu0);
    }
    if (accumulate) {
      std::memcpy(&vs0, out + x, sizeof(V8));
      va0 += vs0;
    }
    std::memcpy(out + x, &va0, sizeof(V8));
  }
  for (; x < width; ++x) {
    double acc = wc * c[x];
    for (int t = 0; t < count; ++t) acc += w[t] * (pa[t][x] + pb[t][x]);
    out[x] = accumulate ? acc + out[x] : acc;
  }
}

// Two symmetric plans over the same pairs of lines (two kernels of one
// length on one row, the LoG's row pass): out1 = WeightedPairSumAvx512 of
// plan 1, out2 = that of plan 2 (no accumulation), bit for bit, with each
// pair sum a[t] + b[t] loaded and added once for both. Taps that a plan
// skips (zero weights) have w = 0 here and `use` false, and are skipped the
// same way.
__attribute__((target("avx512f"))) void WeightedPairSum2Avx512(
    int count, const double* const* pa, const double* const* pb, const double* c, const double* w1,
    const bool* use1, double wc1, double* __restrict out1, const double* w2, const bool* use2,
    double wc2, double* __restrict out2, int width) {
  using V8 = double __attribute__((vector_size(64)));
  V8 p0, p1, p2, p3, vs0, vs1, vs2, vs3, vu0, vu1, vu2, vu3;
  V8 a0, a1, a2, a3, b0, b1, b2, b3;
  int x = 0;
  for (; x + 32 <= width; x += 32) {
    std::memcpy(&vs0, c + x, sizeof(V8));
    std::memcpy(&vs1, c + x + 8, sizeof(V8));
    std::memcpy(&vs2, c + x + 16, sizeof(V8));
    std::memcpy(&vs3, c + x + 24, sizeof(V8));
    a0 = wc1 * vs0, a1 = wc1 * vs1, a2 = wc1 * vs2, a3 = wc1 * vs3;
    b0 = wc2 * vs0, b1 = wc2 * vs1, b2 = wc2 * vs2, b3 = wc2 * vs3;
    for (int t = 0; t < count; ++t) {
      const double* s = pa[t] + x;
      const double* u = pb[t] + x;
      std::memcpy(&vs0, s, sizeof(V8));
      std::memcpy(&vs1, s + 8, sizeof(V8));
      std::memcpy(&vs2, s + 16, sizeof(V8));
      std::memcpy(&vs3, s + 24, sizeof(V8));
      std::memcpy(&vu0, u, sizeof(V8));
      std::memcpy(&vu1, u + 8, sizeof(V8));
      std::memcpy(&vu2, u + 16, sizeof(V8));
      std::memcpy(&vu3, u + 24, sizeof(V8));
      p0 = vs0 + vu0, p1 = vs1 + vu1, p2 = vs2 + vu2, p3 = vs3 + vu3;
      if (use1[t]) {
        const double wt = w1[t];
        a0 += wt * p0, a1 += wt * p1, a2 += wt * p2, a3 += wt * p3;
      }
      if (use2[t]) {
        const double wt = w2[t];
        b0 += wt * p0, b1 += wt * p1, b2 += wt * p2, b3 += wt * p3;
      }
    }
    std::memcpy(out1 + x, &a0, sizeof(V8));
    std::memcpy(out1 + x + 8, &a1, sizeof(V8));
    std::memcpy(out1 + x + 16, &a2, sizeof(V8));
    std::memcpy(out1 + x + 24, &a3, sizeof(V8));
    std::memcpy(out2 + x, &b0, sizeof(V8));
    std::memcpy(out2 + x + 8, &b1, sizeof(V8));
    std::memcpy(out2 + x + 16, &b2, sizeof(V8));
    std::memcpy(out2 + x + 24, &b3, sizeof(V8));
  }
  for (; x + 8 <= width; x += 8) {
    std::memcpy(&vs0, c + x, sizeof(V8));
    a0 = wc1 * vs0;
    b0 = wc2 * vs0;
    for (int t = 0; t < count; ++t) {
      std::memcpy(&vs0, pa[t] + x, sizeof(V8));
      std::memcpy(&vu0, pb[t] + x, sizeof(V8));
      p0 = vs0 + vu0;
      if (use1[t]) a0 += w1[t] * p0;
      if (use2[t]) b0 += w2[t] * p0;
    }
    std::memcpy(out1 + x, &a0, sizeof(V8));
    std::memcpy(out2 + x, &b0, sizeof(V8));
  }
  for (; x < width; ++x) {
    double acc1 = wc1 * c[x];
    double acc2 = wc2 * c[x];
    for (int t = 0; t < count; ++t) {
      const double p = pa[t][x] + pb[t][x];
      if (use1[t]) acc1 += w1[t] * p;
      if (use2[t]) acc2 += w2[t] * p;
    }
    out1[x] = acc1;
    out2[x] = acc2;
  }
}
#pragma GCC pop_options

bool CpuHasAvx512() {
  static const bool has = __builtin_cpu_supports("avx512f") != 0;
  return has;
}
#endif

#pragma GCC push_options
#pragma GCC optimize("fp-contract=off")
// Two consecutive output rows of a symmetric column pass at once. rows[i]
// (i = 0..n, n = 2r + 1 taps) is the source line of virtual row y + first + i;
// w[j] (j < r) the weight of the tap pair (j, n - 1 - j), wc the centre's:
//   out0[x] = wc rows[r][x]     + sum_j w[j] (rows[j][x]     + rows[n-1-j][x])
//   out1[x] = wc rows[r + 1][x] + sum_j w[j] (rows[j + 1][x] + rows[n-j][x])
// (then + out when accumulating; a pair of zero weight is skipped, as
// BuildPlan skips it): for each output exactly the sum, in the
// same order, that WeightedPairSum computes from its LinePlan, so the results
// are bit for bit the same (contraction into multiply-adds, which AVX-512F
// would allow, is switched off for these functions). The two rows share
// their source lines, so each line segment is loaded once for both: about
// 20% faster than two single-row passes, which are bound by their loads.
template <typename V>
[[gnu::always_inline]] inline void PairedRowsBody(const double* const* rows, const double* w, int r,
                                                  double wc, double* __restrict out0,
                                                  double* __restrict out1, int width,
                                                  bool accumulate) {
  constexpr int kLanes = static_cast<int>(sizeof(V) / sizeof(double));
  const int n = 2 * r + 1;
  int x = 0;
  for (; x + 2 * kLanes <= width; x += 2 * kLanes) {
    const auto load = [](V& v, const double* p)
                          [[gnu::always_inline]] { std::memcpy(&v, p, sizeof(V)); };
    V t0, t1;
    load(t0, rows[r] + x);
    load(t1, rows[r] + x + kLanes);
    V acc00 = wc * t0, acc01 = wc * t1;
    load(t0, rows[r + 1] + x);
    load(t1, rows[r + 1] + x + kLanes);
    V acc10 = wc * t0, acc11 = wc * t1;
    V a0, a0h, bn, bnh;  // rows[j] and rows[n - j]
    load(a0, rows[0] + x);
    load(a0h, rows[0] + x + kLanes);
    load(bn, rows[n] + x);
    load(bnh, rows[n] + x + kLanes);
    for (int j = 0; j < r; ++j) {
      V a1, a1h, b1, b1h;  // rows[j + 1] and rows[n - 1 - j]
      load(a1, rows[j + 1] + x);
      load(a1h, rows[j + 1] + x + kLanes);
      load(b1, rows[n - 1 - j] + x);
      load(b1h, rows[n - 1 - j] + x + kLanes);
      const double wt = w[j];
      if (wt != 0.0) {
        acc00 += wt * (a0 + b1), acc01 += wt * (a0h + b1h);
        acc10 += wt * (a1 + bn), acc11 += wt * (a1h + bnh);
      }
      a0 = a1, a0h = a1h, bn = b1, bnh = b1h;
    }
    if (accumulate) {
      load(t0, out0 + x);
      load(t1, out0 + x + kLanes);
      acc00 += t0, acc01 += t1;
      load(t0, out1 + x);
      load(t1, out1 + x + kLanes);
      acc10 += t0, acc11 += t1;
    }
    std::memcpy(out0 + x, &acc00, sizeof(V));
    std::memcpy(out0 + x + kLanes, &acc01, sizeof(V));
    std::memcpy(out1 + x, &acc10, sizeof(V));
    std::memcpy(out1 + x + kLanes, &acc11, sizeof(V));
  }
  for (; x < width; ++x) {
    double acc0 = wc * rows[r][x];
    double acc1 = wc * rows[r + 1][x];
    for (int j = 0; j < r; ++j) {
      if (w[j] == 0.0) continue;
      acc0 += w[j] * (rows[j][x] + rows[n - 1 - j][x]);
      acc1 += w[j] * (rows[j + 1][x] + rows[n - j][x]);
    }
    out0[x] = accumulate ? acc0 + out0[x] : acc0;
    out1[x] = accumulate ? acc1 + out1[x] : acc1;
  }
}

FEDRAD_FILTER_KERNEL void PairedRows(const double* const* rows, const double* w, int r, double wc,
                                     double* out0, double* out1, int width, bool accumulate) {
  using V4 = double __attribute__((vector_size(32)));
  PairedRowsBody<V4>(rows, w, r, wc, out0, out1, width, accumulate);
}

#ifdef FEDRAD_HAVE_AVX512_PAIR_SUM
__attribute__((target("avx512f"))) void PairedRowsAvx512(const double* const* rows, const double* w,
                                                         int r, double wc, double* out0,
                                                         double* out1, int width, bool accumulate) {
  using V8 = double __attribute__((vector_size(64)));
  PairedRowsBody<V8>(rows, w, r, wc, out0, out1, width, accumulate);
}
#endif
#pragma GCC pop_options

void RunPairedRows(const double* const* rows, const double* w, int r, double wc, double* out0,
                   double* out1, int width, bool accumulate) {
#ifdef FEDRAD_HAVE_AVX512_PAIR_SUM
  if (CpuHasAvx512()) {
    PairedRowsAvx512(rows, w, r, wc, out0, out1, width, accumulate);
    return;
  }
#endif
  PairedRows(rows, w, r, wc, out0, out1, width, accumulate);
}

void RunPlan(const LinePlan& plan, double* out, int width, bool accumulate) {
  if (plan.symmetric) {
#ifdef FEDRAD_HAVE_AVX512_PAIR_SUM
    if (CpuHasAvx512()) {
      WeightedPairSumAvx512(plan, out, width, accumulate);
      return;
    }
#endif
    WeightedPairSum(plan, out, width, accumulate);
  } else {
    WeightedSum(plan, out, width, accumulate);
  }
}

// Taps that are mirror-symmetric about offset 0 (w[j] == w[n-1-j] and
// first == -(n-1)/2) can fold the pair of inputs before multiplying.
bool IsSymmetric(const Taps& taps) {
  const int n = static_cast<int>(taps.w.size());
  if (n % 2 == 0 || taps.first != -(n - 1) / 2) return false;
  for (int j = 0; j < n / 2; ++j) {
    if (taps.w[j] != taps.w[n - 1 - j]) return false;
  }
  return true;
}

// Fills `plan` for the taps, source line of tap j given by line(j) (tap j
// reads offset first + j). Zero taps are skipped.
template <typename LineOf>
void BuildPlan(const Taps& taps, bool symmetric, LineOf line, LinePlan& plan) {
  const int n = static_cast<int>(taps.w.size());
  plan.symmetric = symmetric;
  plan.w.clear();
  plan.a.clear();
  plan.b.clear();
  if (symmetric) {
    const int r = n / 2;
    plan.wc = taps.w[r];
    plan.centre = line(r);
    for (int j = 0; j < r; ++j) {
      if (taps.w[j] == 0.0) continue;
      plan.w.push_back(taps.w[j]);
      plan.a.push_back(line(j));
      plan.b.push_back(line(n - 1 - j));
    }
    return;
  }
  for (int j = 0; j < n; ++j) {
    if (taps.w[j] == 0.0) continue;
    plan.w.push_back(taps.w[j]);
    plan.a.push_back(line(j));
  }
}

// buf[k] = row[start + k] for k in [0, count), padded (the row has `width`
// values).
void FillPaddedSegment(const double* row, int width, int start, int count, Padding padding,
                       double* buf) {
  const int begin = std::clamp(-start, 0, count);           // first k inside the row
  const int end = std::clamp(width - start, begin, count);  // one past the last
  for (int k = 0; k < begin; ++k) {
    const int m = PadIndex(k + start, width, padding);
    buf[k] = m < 0 ? 0.0 : row[m];
  }
  std::copy(row + begin + start, row + end + start, buf + begin);
  for (int k = end; k < count; ++k) {
    const int m = PadIndex(k + start, width, padding);
    buf[k] = m < 0 ? 0.0 : row[m];
  }
}

// buf[k] = row[k + first] for k in [0, width + n - 1), padded.
void FillPaddedRow(const double* row, int width, int first, int n, Padding padding, double* buf) {
  FillPaddedSegment(row, width, first, width + n - 1, padding, buf);
}

}  // namespace

void FilterRows(const Grid<double>& in, const Taps& taps, Padding padding, Grid<double>& out) {
  const int width = in.width;
  const int height = in.height;
  out = Grid<double>(width, height);
  if (width == 0 || height == 0) return;
  const int n = static_cast<int>(taps.w.size());
  std::vector<double> buf(static_cast<std::size_t>(width + n - 1));
  // The padded row buffer is reused for every row, so the plan is built once.
  LinePlan plan;
  BuildPlan(
      taps, IsSymmetric(taps), [&](int j) { return buf.data() + j; }, plan);
  for (int y = 0; y < height; ++y) {
    FillPaddedRow(&in.data[static_cast<std::size_t>(width) * y], width, taps.first, n, padding,
                  buf.data());
    RunPlan(plan, &out.data[static_cast<std::size_t>(width) * y], width, /*accumulate=*/false);
  }
}

void FilterColumnsAdd(const Grid<double>& in, const Taps& taps, Padding padding,
                      Grid<double>& out) {
  const int width = in.width;
  const int height = in.height;
  if (out.width != width || out.height != height) out = Grid<double>(width, height);
  if (width == 0 || height == 0) return;
  const bool symmetric = IsSymmetric(taps);
  const std::vector<double> zero_row(static_cast<std::size_t>(width), 0.0);
  const double* base = in.data.data();
  LinePlan plan;
  for (int y = 0; y < height; ++y) {
    BuildPlan(
        taps, symmetric,
        [&](int j) {
          const int m = PadIndex(y + taps.first + j, height, padding);
          return m < 0 ? zero_row.data() : base + static_cast<std::size_t>(width) * m;
        },
        plan);
    RunPlan(plan, &out.data[static_cast<std::size_t>(width) * y], width, /*accumulate=*/true);
  }
}

void FilterColumns(const Grid<double>& in, const Taps& taps, Padding padding, Grid<double>& out) {
  out = Grid<double>(in.width, in.height);
  FilterColumnsAdd(in, taps, padding, out);
}

void FilterSeparableWindowInto(const Grid<double>& in, const Taps& tx,
                               const std::vector<const Taps*>& tys, Padding padding,
                               const Window& window, const std::vector<Grid<double>*>& outs,
                               bool accumulate) {
  const int width = in.width;
  const int height = in.height;
  const int out_width = window.width;
  const int out_height = window.height;
  if (window.x0 < 0 || window.y0 < 0 || out_width < 0 || out_height < 0 ||
      window.x0 + out_width > width || window.y0 + out_height > height) {
    throw std::invalid_argument("filter window lies outside the image");
  }
  for (Grid<double>* out : outs) {
    if (!accumulate || out->width != out_width || out->height != out_height) {
      *out = Grid<double>(out_width, out_height);
    }
  }
  if (out_width == 0 || out_height == 0 || tys.empty()) return;

  // Virtual rows v (row index before padding) needed by output row y are
  // y + lo .. y + hi over all column taps; the ring holds hi - lo + 1 of them,
  // each row-filtered on the window's columns only.
  int lo = tys[0]->first;
  int hi = lo;
  std::vector<bool> symmetric;
  for (const Taps* ty : tys) {
    lo = std::min(lo, ty->first);
    hi = std::max(hi, ty->first + static_cast<int>(ty->w.size()) - 1);
    symmetric.push_back(IsSymmetric(*ty));
  }
  // Symmetric column taps without zero taps (the Gaussian family) compute
  // two output rows at a time (RunPairedRows): the ring then holds one more
  // row, the window of both.
  std::vector<bool> paired(tys.size(), false);
  bool any_paired = false;
  for (std::size_t k = 0; k < tys.size(); ++k) {
    const std::vector<double>& taps = tys[k]->w;
    paired[k] =
        symmetric[k] && taps.size() >= 3 && std::find(taps.begin(), taps.end(), 0.0) == taps.end();
    any_paired = any_paired || paired[k];
  }
  const int ring_size = hi - lo + 1 + (any_paired ? 1 : 0);
  const std::size_t w = static_cast<std::size_t>(out_width);
  // Every slot is row-filtered before it is read: no zero fill.
  const auto ring =
      std::make_unique_for_overwrite<double[]>(static_cast<std::size_t>(ring_size) * w);
  std::vector<const double*> slot(static_cast<std::size_t>(ring_size), nullptr);
  const std::vector<double> zero_row(w, 0.0);

  // Row pass of one source row into a ring slot, through a padded buffer:
  // buf[k] = padded row at column window.x0 + first + k, so that output
  // column x reads buf[x + j] for tap j, the same values in the same order
  // as a pass over the whole row.
  const int nx = static_cast<int>(tx.w.size());
  std::vector<double> buf(static_cast<std::size_t>(out_width + nx - 1));
  LinePlan row_plan;
  BuildPlan(
      tx, IsSymmetric(tx), [&](int j) { return buf.data() + j; }, row_plan);
  auto fill = [&](int v) {
    const std::size_t s = static_cast<std::size_t>((v - lo) % ring_size);
    const int m = PadIndex(v, height, padding);
    if (m < 0) {
      slot[s] = zero_row.data();
      return;
    }
    FillPaddedSegment(&in.data[static_cast<std::size_t>(width) * static_cast<std::size_t>(m)],
                      width, window.x0 + tx.first, out_width + nx - 1, padding, buf.data());
    double* dst = &ring[s * w];
    RunPlan(row_plan, dst, out_width, /*accumulate=*/false);
    slot[s] = dst;
  };

  // Every virtual row v used below has v - lo >= window.y0 >= 0, so the ring
  // index (v - lo) % ring_size is never negative.
  const int v0 = window.y0;
  for (int v = v0 + lo; v < v0 + hi; ++v) fill(v);
  LinePlan col_plan;
  std::vector<const double*> rows;
  // Output row y of column filter k, one row at a time.
  const auto single_row = [&](std::size_t k, int y) {
    const Taps& ty = *tys[k];
    BuildPlan(
        ty, symmetric[k],
        [&](int j) {
          return slot[static_cast<std::size_t>((v0 + y + ty.first + j - lo) % ring_size)];
        },
        col_plan);
    RunPlan(col_plan, &outs[k]->data[w * static_cast<std::size_t>(y)], out_width, accumulate);
  };
  int y = 0;
  while (y < out_height) {
    if (!any_paired || y + 1 == out_height) {
      fill(v0 + y + hi);
      for (std::size_t k = 0; k < tys.size(); ++k) single_row(k, y);
      ++y;
      continue;
    }
    fill(v0 + y + hi);
    fill(v0 + y + 1 + hi);
    for (std::size_t k = 0; k < tys.size(); ++k) {
      if (!paired[k]) {
        single_row(k, y);
        single_row(k, y + 1);
        continue;
      }
      const Taps& ty = *tys[k];
      const int n = static_cast<int>(ty.w.size());
      const int r = n / 2;
      rows.resize(static_cast<std::size_t>(n) + 1);
      for (int i = 0; i <= n; ++i) {
        rows[static_cast<std::size_t>(i)] =
            slot[static_cast<std::size_t>((v0 + y + ty.first + i - lo) % ring_size)];
      }
      double* out0 = &outs[k]->data[w * static_cast<std::size_t>(y)];
      RunPairedRows(rows.data(), ty.w.data(), r, ty.w[static_cast<std::size_t>(r)], out0, out0 + w,
                    out_width, accumulate);
    }
    y += 2;
  }
}

bool FilterSeparablePairWindowInto(const Grid<double>& in, const Taps& tx1, const Taps& ty1,
                                   const Taps& tx2, const Taps& ty2, Padding padding,
                                   const Window& window, Grid<double>& out) {
#ifndef FEDRAD_HAVE_AVX512_PAIR_SUM
  (void)in, (void)tx1, (void)ty1, (void)tx2, (void)ty2, (void)padding, (void)window, (void)out;
  return false;
#else
  const int width = in.width;
  const int height = in.height;
  const int out_width = window.width;
  const int out_height = window.height;
  if (!CpuHasAvx512() || window.x0 < 0 || window.y0 < 0 || out_width <= 0 || out_height <= 0 ||
      window.x0 + out_width > width || window.y0 + out_height > height) {
    return false;
  }
  // Row kernels: both symmetric, of one length; column kernels: one length
  // and start (so both read the same virtual rows).
  const int nx = static_cast<int>(tx1.w.size());
  if (!IsSymmetric(tx1) || !IsSymmetric(tx2) || tx2.w.size() != tx1.w.size() ||
      ty1.first != ty2.first || ty1.w.size() != ty2.w.size() || ty1.w.empty()) {
    return false;
  }
  const int lo = ty1.first;
  const int hi = lo + static_cast<int>(ty1.w.size()) - 1;
  const std::array<bool, 2> symmetric = {IsSymmetric(ty1), IsSymmetric(ty2)};
  // (Zero taps allowed here: RunPairedRows skips them as BuildPlan does;
  // the second derivative's taps can be exactly zero.)
  std::array<bool, 2> paired{};
  for (std::size_t k = 0; k < 2; ++k) {
    paired[k] = symmetric[k] && (k == 0 ? ty1 : ty2).w.size() >= 3;
  }
  out = Grid<double>(out_width, out_height);
  const int ring_size = hi - lo + 2;
  const std::size_t w = static_cast<std::size_t>(out_width);
  // Every slot is row-filtered before it is read: no zero fill.
  const auto ring =
      std::make_unique_for_overwrite<double[]>(2 * static_cast<std::size_t>(ring_size) * w);
  std::array<std::vector<const double*>, 2> slot;
  slot[0].assign(static_cast<std::size_t>(ring_size), nullptr);
  slot[1].assign(static_cast<std::size_t>(ring_size), nullptr);
  const std::vector<double> zero_row(w, 0.0);

  // Row pass of one source row for both row kernels, through one padded
  // buffer (as FilterSeparableWindowInto; the plans are those BuildPlan
  // makes, merged over the tap pairs: a pair a plan skips is flagged off).
  std::vector<double> buf(static_cast<std::size_t>(out_width + nx - 1));
  const int r = nx / 2;
  std::vector<const double*> pa;
  std::vector<const double*> pb;
  std::vector<double> w1;
  std::vector<double> w2;
  std::unique_ptr<bool[]> use1(new bool[static_cast<std::size_t>(r) + 1]);
  std::unique_ptr<bool[]> use2(new bool[static_cast<std::size_t>(r) + 1]);
  int count = 0;
  for (int j = 0; j < r; ++j) {
    const double u1 = tx1.w[static_cast<std::size_t>(j)];
    const double u2 = tx2.w[static_cast<std::size_t>(j)];
    if (u1 == 0.0 && u2 == 0.0) continue;
    pa.push_back(buf.data() + j);
    pb.push_back(buf.data() + (nx - 1 - j));
    w1.push_back(u1);
    w2.push_back(u2);
    use1[static_cast<std::size_t>(count)] = u1 != 0.0;
    use2[static_cast<std::size_t>(count)] = u2 != 0.0;
    ++count;
  }
  const double* centre = buf.data() + r;
  const double wc1 = tx1.w[static_cast<std::size_t>(r)];
  const double wc2 = tx2.w[static_cast<std::size_t>(r)];
  auto fill = [&](int v) {
    const std::size_t s = static_cast<std::size_t>((v - lo) % ring_size);
    const int m = PadIndex(v, height, padding);
    if (m < 0) {
      slot[0][s] = zero_row.data();
      slot[1][s] = zero_row.data();
      return;
    }
    FillPaddedSegment(&in.data[static_cast<std::size_t>(width) * static_cast<std::size_t>(m)],
                      width, window.x0 + tx1.first, out_width + nx - 1, padding, buf.data());
    double* dst1 = &ring[s * w];
    double* dst2 = &ring[(static_cast<std::size_t>(ring_size) + s) * w];
    WeightedPairSum2Avx512(count, pa.data(), pb.data(), centre, w1.data(), use1.get(), wc1, dst1,
                           w2.data(), use2.get(), wc2, dst2, out_width);
    slot[0][s] = dst1;
    slot[1][s] = dst2;
  };

  const int v0 = window.y0;
  for (int v = v0 + lo; v < v0 + hi; ++v) fill(v);
  LinePlan col_plan;
  std::vector<const double*> rows;
  // Output row y of column kernel k (0: ty1 on the tx1 rows, written; 1:
  // ty2 on the tx2 rows, added), one row at a time.
  const auto single_row = [&](std::size_t k, int y) {
    const Taps& ty = k == 0 ? ty1 : ty2;
    BuildPlan(
        ty, symmetric[k],
        [&](int j) {
          return slot[k][static_cast<std::size_t>((v0 + y + ty.first + j - lo) % ring_size)];
        },
        col_plan);
    RunPlan(col_plan, &out.data[w * static_cast<std::size_t>(y)], out_width, k == 1);
  };
  int y = 0;
  while (y < out_height) {
    if (y + 1 == out_height) {
      fill(v0 + y + hi);
      single_row(0, y);
      single_row(1, y);
      ++y;
      continue;
    }
    fill(v0 + y + hi);
    fill(v0 + y + 1 + hi);
    for (std::size_t k = 0; k < 2; ++k) {
      if (!paired[k]) {
        single_row(k, y);
        single_row(k, y + 1);
        continue;
      }
      const Taps& ty = k == 0 ? ty1 : ty2;
      const int n = static_cast<int>(ty.w.size());
      rows.resize(static_cast<std::size_t>(n) + 1);
      for (int i = 0; i <= n; ++i) {
        rows[static_cast<std::size_t>(i)] =
            slot[k][static_cast<std::size_t>((v0 + y + ty.first + i - lo) % ring_size)];
      }
      double* out0 = &out.data[w * static_cast<std::size_t>(y)];
      RunPairedRows(rows.data(), ty.w.data(), n / 2, ty.w[static_cast<std::size_t>(n / 2)], out0,
                    out0 + w, out_width, k == 1);
    }
    y += 2;
  }
  return true;
#endif
}

void FilterSeparableInto(const Grid<double>& in, const Taps& tx,
                         const std::vector<const Taps*>& tys, Padding padding,
                         const std::vector<Grid<double>*>& outs, bool accumulate) {
  FilterSeparableWindowInto(in, tx, tys, padding, Window{0, 0, in.width, in.height}, outs,
                            accumulate);
}

Grid<double> FilterSeparable(const Grid<double>& in, const Taps& tx, const Taps& ty,
                             Padding padding) {
  Grid<double> out;
  FilterSeparableInto(in, tx, {&ty}, padding, {&out}, /*accumulate=*/false);
  return out;
}

void ThrowIfInvalid(const std::string& message) {
  if (!message.empty()) throw std::invalid_argument(message);
}

std::string FormatNumber(double value) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.10g", value);
  return buf;
}

std::string CheckMean(const MeanParams& params) {
  if (params.support < 1 || params.support % 2 == 0) {
    return "mean: support must be an odd number of pixels >= 1, got " +
           std::to_string(params.support);
  }
  return {};
}

std::string CheckGradient(const GradientParams& /*params*/) { return {}; }

std::string CheckLbp(const LbpParams& params) {
  if (!(params.radius > 0.0) || !std::isfinite(params.radius)) {
    return "lbp: radius must be > 0 pixels, got " + FormatNumber(params.radius);
  }
  if (params.samples < 1 || params.samples > 32) {
    return "lbp: samples must be in [1, 32], got " + std::to_string(params.samples);
  }
  return {};
}

}  // namespace filter_detail

using filter_detail::FormatNumber;
using filter_detail::Taps;

// --------------------------------------------------------------------------
// Padding.

std::string_view PaddingName(Padding padding) {
  switch (padding) {
    case Padding::kConstant:
      return "constant";
    case Padding::kNearest:
      return "nearest";
    case Padding::kPeriodic:
      return "periodic";
    case Padding::kMirror:
      return "mirror";
    case Padding::kReflect:
      return "reflect";
  }
  return "unknown";
}

std::optional<Padding> ParsePadding(std::string_view name) {
  if (name == "constant" || name == "zero") return Padding::kConstant;
  if (name == "nearest" || name == "edge") return Padding::kNearest;
  if (name == "periodic" || name == "wrap") return Padding::kPeriodic;
  if (name == "mirror" || name == "symmetric") return Padding::kMirror;
  if (name == "reflect") return Padding::kReflect;
  return std::nullopt;
}

int PadIndex(int i, int n, Padding padding) {
  if (i >= 0 && i < n) return i;
  switch (padding) {
    case Padding::kConstant:
      return -1;
    case Padding::kNearest:
      return i < 0 ? 0 : n - 1;
    case Padding::kPeriodic: {
      const int m = i % n;
      return m < 0 ? m + n : m;
    }
    case Padding::kMirror: {
      const int period = 2 * n;
      int m = i % period;
      if (m < 0) m += period;
      return m < n ? m : period - 1 - m;
    }
    case Padding::kReflect: {
      if (n == 1) return 0;
      const int period = 2 * n - 2;
      int m = i % period;
      if (m < 0) m += period;
      return m < n ? m : period - m;
    }
  }
  return -1;
}

// --------------------------------------------------------------------------
// Mean filter.

Image MeanFilter(const Image& image, const MeanParams& params) {
  filter_detail::ThrowIfInvalid(filter_detail::CheckMean(params));
  const std::vector<double> box(static_cast<std::size_t>(params.support),
                                1.0 / static_cast<double>(params.support));
  const Taps taps = filter_detail::ConvolutionTaps(box, params.support / 2);
  return Image{filter_detail::FilterSeparable(image.pixels, taps, taps, params.padding),
               image.spacing};
}

// --------------------------------------------------------------------------
// PyRadiomics intensity transforms.

namespace {

double MaxAbs(const Grid<double>& grid) {
  double m = 0.0;
  for (const double v : grid.data) m = std::max(m, std::abs(v));
  return m;
}

}  // namespace

Image SquareFilter(const Image& image) {
  Image out = image;
  const double max_abs = MaxAbs(image.pixels);
  if (max_abs == 0.0) return out;
  const double coeff = 1.0 / std::sqrt(max_abs);
  for (double& v : out.pixels.data) {
    const double scaled = coeff * v;
    v = scaled * scaled;
  }
  return out;
}

Image SquareRootFilter(const Image& image) {
  Image out = image;
  const double max_abs = MaxAbs(image.pixels);
  if (max_abs == 0.0) return out;
  for (double& v : out.pixels.data) {
    if (v > 0.0) {
      v = std::sqrt(v * max_abs);
    } else if (v < 0.0) {
      v = -std::sqrt(-v * max_abs);
    }
  }
  return out;
}

Image LogarithmFilter(const Image& image) {
  Image out = image;
  const double max_abs = MaxAbs(image.pixels);
  if (max_abs == 0.0) return out;
  for (double& v : out.pixels.data) {
    if (v > 0.0) {
      v = std::log(v + 1.0);
    } else if (v < 0.0) {
      v = -std::log(-(v - 1.0));
    }
  }
  const double scale = max_abs / MaxAbs(out.pixels);
  for (double& v : out.pixels.data) v *= scale;
  return out;
}

Image ExponentialFilter(const Image& image) {
  Image out = image;
  const double max_abs = MaxAbs(image.pixels);
  if (max_abs == 0.0) {
    std::fill(out.pixels.data.begin(), out.pixels.data.end(), 1.0);
    return out;
  }
  const double coeff = std::log(max_abs) / max_abs;
  for (double& v : out.pixels.data) v = std::exp(coeff * v);
  return out;
}

// --------------------------------------------------------------------------
// Gradient magnitude.

Image GradientMagnitude(const Image& image, const GradientParams& params) {
  filter_detail::ThrowIfInvalid(filter_detail::CheckGradient(params));
  const double hx = params.use_spacing ? image.spacing.x_mm : 1.0;
  const double hy = params.use_spacing ? image.spacing.y_mm : 1.0;
  // Central difference (I(x+1) - I(x-1)) / (2 h) as a correlation.
  Taps dx;
  dx.first = -1;
  dx.w = {-0.5 / hx, 0.0, 0.5 / hx};
  Taps dy;
  dy.first = -1;
  dy.w = {-0.5 / hy, 0.0, 0.5 / hy};
  Grid<double> gx;
  Grid<double> gy;
  filter_detail::FilterRows(image.pixels, dx, params.padding, gx);
  filter_detail::FilterColumns(image.pixels, dy, params.padding, gy);
  Image out{Grid<double>(image.pixels.width, image.pixels.height), image.spacing};
  for (std::size_t i = 0; i < out.pixels.size(); ++i) {
    out.pixels.data[i] = std::sqrt(gx.data[i] * gx.data[i] + gy.data[i] * gy.data[i]);
  }
  return out;
}

// --------------------------------------------------------------------------
// Local binary pattern (scikit-image "uniform", as used by PyRadiomics).

Image LocalBinaryPattern2D(const Image& image, const LbpParams& params) {
  filter_detail::ThrowIfInvalid(filter_detail::CheckLbp(params));
  const int p = params.samples;
  const double radius = params.radius;
  // Sample offsets, rounded to 5 decimals like numpy.round(x, 5).
  std::vector<double> rp(static_cast<std::size_t>(p));
  std::vector<double> cp(static_cast<std::size_t>(p));
  for (int k = 0; k < p; ++k) {
    const double angle = 2.0 * std::numbers::pi * static_cast<double>(k) / static_cast<double>(p);
    rp[k] = std::nearbyint(-radius * std::sin(angle) * 1e5) / 1e5;
    cp[k] = std::nearbyint(radius * std::cos(angle) * 1e5) / 1e5;
  }
  const Grid<double>& img = image.pixels;
  const int rows = img.height;
  const int cols = img.width;
  auto pixel = [&](long r, long c) -> double {
    if (r < 0 || r >= rows || c < 0 || c >= cols) return 0.0;
    return img.data[static_cast<std::size_t>(c) + static_cast<std::size_t>(cols) * r];
  };
  Image out{Grid<double>(cols, rows), image.spacing};
  std::vector<int> bits(static_cast<std::size_t>(p));
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) {
      const double centre = pixel(r, c);
      for (int k = 0; k < p; ++k) {
        // Bilinear interpolation in scikit-image's operation order.
        const double rr = static_cast<double>(r) + rp[k];
        const double cc = static_cast<double>(c) + cp[k];
        const long minr = static_cast<long>(std::floor(rr));
        const long minc = static_cast<long>(std::floor(cc));
        const long maxr = static_cast<long>(std::ceil(rr));
        const long maxc = static_cast<long>(std::ceil(cc));
        const double dr = rr - static_cast<double>(minr);
        const double dc = cc - static_cast<double>(minc);
        const double top = (1 - dc) * pixel(minr, minc) + dc * pixel(minr, maxc);
        const double bottom = (1 - dc) * pixel(maxr, minc) + dc * pixel(maxr, maxc);
        const double texture = (1 - dr) * top + dr * bottom;
        bits[k] = texture - centre >= 0 ? 1 : 0;
      }
      int changes = 0;
      for (int k = 0; k + 1 < p; ++k) changes += bits[k] != bits[k + 1] ? 1 : 0;
      int code = p + 1;
      if (changes <= 2) {
        code = 0;
        for (const int b : bits) code += b;
      }
      out.pixels.at(c, r) = static_cast<double>(code);
    }
  }
  return out;
}

// --------------------------------------------------------------------------
// FilterSpec dispatch.

std::string CheckFilterParams(const FilterSpec& spec) {
  return std::visit(
      [](const auto& p) -> std::string {
        using T = std::decay_t<decltype(p)>;
        if constexpr (std::is_same_v<T, MeanParams>) {
          return filter_detail::CheckMean(p);
        } else if constexpr (std::is_same_v<T, LogParams>) {
          return filter_detail::CheckLog(p);
        } else if constexpr (std::is_same_v<T, LawsParams>) {
          return filter_detail::CheckLaws(p);
        } else if constexpr (std::is_same_v<T, GaborParams>) {
          return filter_detail::CheckGabor(p);
        } else if constexpr (std::is_same_v<T, WaveletParams>) {
          return filter_detail::CheckWavelet(p);
        } else if constexpr (std::is_same_v<T, GradientParams>) {
          return filter_detail::CheckGradient(p);
        } else if constexpr (std::is_same_v<T, LbpParams>) {
          return filter_detail::CheckLbp(p);
        } else {
          return std::string();
        }
      },
      spec);
}

Image ApplyFilter(const Image& image, const FilterSpec& spec) {
  filter_detail::ThrowIfInvalid(CheckFilterParams(spec));
  return std::visit(
      [&image](const auto& p) -> Image {
        using T = std::decay_t<decltype(p)>;
        if constexpr (std::is_same_v<T, MeanParams>) {
          return MeanFilter(image, p);
        } else if constexpr (std::is_same_v<T, LogParams>) {
          return LaplacianOfGaussian(image, p);
        } else if constexpr (std::is_same_v<T, LawsParams>) {
          return LawsFilter(image, p);
        } else if constexpr (std::is_same_v<T, GaborParams>) {
          return GaborFilter(image, p);
        } else if constexpr (std::is_same_v<T, WaveletParams>) {
          return WaveletFilter(image, p);
        } else if constexpr (std::is_same_v<T, SquareParams>) {
          return SquareFilter(image);
        } else if constexpr (std::is_same_v<T, SquareRootParams>) {
          return SquareRootFilter(image);
        } else if constexpr (std::is_same_v<T, LogarithmParams>) {
          return LogarithmFilter(image);
        } else if constexpr (std::is_same_v<T, ExponentialParams>) {
          return ExponentialFilter(image);
        } else if constexpr (std::is_same_v<T, GradientParams>) {
          return GradientMagnitude(image, p);
        } else {
          static_assert(std::is_same_v<T, LbpParams>);
          return LocalBinaryPattern2D(image, p);
        }
      },
      spec);
}

namespace filter_detail {

Image ApplyFilterWindow(const Image& image, const FilterSpec& spec, const Window& window) {
  ThrowIfInvalid(CheckFilterParams(spec));
  if (const auto* log = std::get_if<LogParams>(&spec)) {
    return LaplacianOfGaussianWindow(image, *log, window);
  }
  if (const auto* wavelet = std::get_if<WaveletParams>(&spec)) {
    return std::move(WaveletBandsWindow(image, *wavelet, {wavelet->band},
                                        window)[static_cast<int>(wavelet->band)]);
  }
  const Image full = ApplyFilter(image, spec);
  Image out{Grid<double>(window.width, window.height), full.spacing};
  for (int y = 0; y < window.height; ++y) {
    const auto* row = &full.pixels.data[static_cast<std::size_t>(window.x0) +
                                        static_cast<std::size_t>(full.pixels.width) *
                                            static_cast<std::size_t>(window.y0 + y)];
    std::copy_n(
        row, window.width,
        &out.pixels.data[static_cast<std::size_t>(window.width) * static_cast<std::size_t>(y)]);
  }
  return out;
}

}  // namespace filter_detail

namespace {

// PyRadiomics-style number in a name, as Python's str(float) prints it with
// '.' -> '-': 1.5 -> "1-5", 1.0 -> "1-0" (PyRadiomics: log-sigma-1-0-mm-3D),
// -2.0 -> "m2-0".
std::string NameNumber(double value) {
  std::string s = FormatNumber(value);
  if (s.find_first_of(".en") == std::string::npos) s += ".0";
  for (char& ch : s) {
    if (ch == '.') ch = '-';
  }
  if (!s.empty() && s[0] == '-') s[0] = 'm';
  return s;
}

std::string PoolingSuffix(Pooling pooling) { return pooling == Pooling::kMax ? "max" : "avg"; }

}  // namespace

std::string FilterName(const FilterSpec& spec) {
  return std::visit(
      [](const auto& p) -> std::string {
        using T = std::decay_t<decltype(p)>;
        if constexpr (std::is_same_v<T, MeanParams>) {
          return "mean-" + std::to_string(p.support);
        } else if constexpr (std::is_same_v<T, LogParams>) {
          return "log-sigma-" + NameNumber(p.sigma_mm) + "-mm-2D";
        } else if constexpr (std::is_same_v<T, LawsParams>) {
          std::string name = "laws-" + p.kernel;
          if (p.rotation_invariant) name += "-rot-" + PoolingSuffix(p.pooling);
          if (p.energy_map) name += "-energy-" + std::to_string(p.energy_distance);
          return name;
        } else if constexpr (std::is_same_v<T, GaborParams>) {
          std::string name = "gabor-s" + NameNumber(p.sigma_mm) + "-l" + NameNumber(p.lambda_mm) +
                             "-g" + NameNumber(p.gamma) + "-t" + NameNumber(p.theta_deg);
          if (p.theta_step_deg > 0.0) {
            name += "-rot-" + NameNumber(p.theta_step_deg) + "-" + PoolingSuffix(p.pooling);
          }
          return name;
        } else if constexpr (std::is_same_v<T, WaveletParams>) {
          const std::string prefix =
              p.level == 1 ? std::string("wavelet") : "wavelet" + std::to_string(p.level);
          return prefix + "-" + std::string(WaveletBandName(p.band));
        } else if constexpr (std::is_same_v<T, SquareParams>) {
          return "square";
        } else if constexpr (std::is_same_v<T, SquareRootParams>) {
          return "squareroot";
        } else if constexpr (std::is_same_v<T, LogarithmParams>) {
          return "logarithm";
        } else if constexpr (std::is_same_v<T, ExponentialParams>) {
          return "exponential";
        } else if constexpr (std::is_same_v<T, GradientParams>) {
          return "gradient";
        } else {
          static_assert(std::is_same_v<T, LbpParams>);
          return "lbp-2D";
        }
      },
      spec);
}

}  // namespace fedrad::site_agent::radiomics
