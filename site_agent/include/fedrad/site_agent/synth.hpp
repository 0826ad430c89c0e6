// `fedrad synth`: a synthetic consortium of hospitals for the demo, tests and
// training (issue 7). Each site gets ultrasound-like images with lesion,
// liver-parenchyma and field-of-view masks, a manifest for `fedrad extract`
// and a clinical CSV; the labels (2-year intrahepatic recurrence) come from a
// known model in which both imaging and clinical risk matter, so that a
// combined model should beat the clinical and the radiomics models alone.
// Deterministic: the same options give the same bytes (every case draws from
// its own generator, seeded from (seed, site index, case index)).
//
// Generative model for case i (all draws independent unless stated):
//   clinical (the paper's six predictors):
//     nodal_positive ~ B(0.55), synchronous_metastases ~ B(0.45),
//     bilobar_metastases ~ B(0.35), preoperative_chemotherapy ~ B(0.5),
//     targeted_drugs ~ B(0.35) if chemotherapy else B(0.05),
//     ca19_9_u_ml = exp(N(ln 30 + 0.9 bilobar, 1.4)) rounded to 0.1;
//   distractors: age_years ~ N(61, 10) in [25, 90], sex M/F with P(M) = 0.6,
//     bmi ~ N(25.5, 4) in [15, 45], cea_ng_ml = exp(N(ln 8, 1.2)), albumin_g_l ~ N(40, 5);
//   imaging risk u ~ N(0, 1) (latent, not written);
//   η = -1.35 + 0.75 nodal + 0.55 synchronous + 0.65 bilobar + 0.45 chemo
//       - 0.35 targeted + 0.9 [ca19_9 > 200] + 1.2 u;
//   recurrence_2y ~ B(1 / (1 + exp(-η)))   (≈ 45% positive).
// Imaging (u shapes the lesion and its rim; the parenchyma carries none):
//   lesion radius R = (8 + 1.5 u + N(0, 1.5)) mm, at least 4 mm; boundary
//     r(θ) = R (1 + Σ_{k=2..5} a_k cos(kθ + φ_k)), a_k ~ N(0, s²)/k with
//     s = 0.06 + 0.10 σ(1.5 u) (irregular margins with risk);
//   echogenicity relative to the liver: 0.45 - 0.12 tanh(u) (darker with risk),
//     heterogeneity (a smooth random field of SD 0.12 + 0.25 σ(2u) times it);
//   a hypoechoic halo 1.5 mm wide outside the margin, darkening the liver by
//     0.35 σ(2u - 0.5);
//   speckle: |complex Gaussian| (Rayleigh) smoothed by a Gaussian of the
//     site's correlation length, multiplied into the echogenicity, depth
//     attenuation, log compression to 8 bits, inside a sector-shaped field
//     of view (outside = 0);
//   scanner differences per site (index k): gain 1 + 0.12 sin(1.7k + 0.4),
//     speckle correlation 1.4 + 0.3 (k mod 3) px, noise floor 2 + k mod 2;
//   grey value = floor + 200 ln(1 + 10 s) / ln(41), s = gain · depth ·
//     echogenicity · speckle / mean speckle.
// σ(x) = 1 / (1 + exp(-x)).
//
// Layout written under `out_dir` (which must not exist or be empty):
//   <site>/images/<case>.png, <site>/masks/<case>_{lesion,liver,fov}.png
//   (8-bit, 0/255), <site>/manifest.csv (fedrad extract's manifest, with the
//   spacing), <site>/clinical.csv, truth.json (the model above, the options
//   and per-site counts), README.txt.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "fedrad/common/status.hpp"

namespace fedrad::site_agent {

struct SynthSite {
  std::string id;  // party-name rule (common::ValidatePartyName)
  bool external = false;
  int cases = 0;  // 1..100000
};

struct SynthOptions {
  std::string out_dir;
  std::vector<SynthSite> sites;  // empty = DefaultSynthSites()
  std::uint64_t seed = 20260127;
  int image_size = 256;     // square images, 64..2048 pixels
  double spacing_mm = 0.3;  // pixel size (both axes), (0, 10]
};

// The paper's sizes: 224 training cases over 3 sites, 54 external at 1 site.
std::vector<SynthSite> DefaultSynthSites();

// "id:role:cases,..." with role train|external, e.g.
// "hospital_a:train:80,hospital_b:train:74,hospital_d:external:54".
// Errors name the entry and what was expected.
common::Result<std::vector<SynthSite>> ParseSynthSites(const std::string& text);

struct SynthSiteSummary {
  std::string id;
  bool external = false;
  int cases = 0;
  int positives = 0;
};

// Writes the consortium (see above). `progress` (may be empty) receives one
// line per site. Refuses an out_dir that exists and is not empty, so nothing
// already there is overwritten.
common::Result<std::vector<SynthSiteSummary>> GenerateConsortium(
    const SynthOptions& options, const std::function<void(const std::string&)>& progress);

}  // namespace fedrad::site_agent
