// The three regions of the study, built from masks (pure functions).
//
//   lesion      the lesion mask: its largest 8-connected component (default)
//               or all components;
//   ring<r>mm   the peri-tumour ring: pixels whose centre lies within r mm
//               (Euclidean, in physical units, so anisotropic spacing is
//               honoured) of the centre of a lesion pixel, minus the lesion
//               itself, clipped to the image and to an optional field-of-view
//               mask;
//   parenchyma  a user-provided mask of tumour-free liver (features are
//               absent, not zero, when none is given).
#pragma once

#include <string>
#include <vector>

#include "fedrad/site_agent/radiomics/image.hpp"

namespace fedrad::site_agent::radiomics {

enum class ComponentRule { kLargest, kAll };

// Number of ROI pixels (value != 0).
std::size_t CountRoi(const Mask& mask);

// Labels 8-connected components of the ROI: labels 1..n, 0 outside.
// Returns n.
int LabelComponents(const Mask& mask, Grid<int>* labels);

// The lesion region. kLargest keeps the component with the most pixels (the
// first in raster order on a tie). An empty input gives an empty mask.
Mask LesionRegion(const Mask& mask, ComponentRule rule);

// Squared Euclidean distance in mm² from each pixel centre to the nearest
// ROI pixel centre (0 inside the ROI; +inf if the ROI is empty). Exact,
// separable (Felzenszwalb & Huttenlocher 2012), O(pixels).
Grid<double> SquaredDistanceMm(const Mask& roi, const Spacing& spacing);

// The ring of width `width_mm` around `lesion`; `field_of_view` (may be
// null) restricts it to the scanned sector.
Mask RingRegion(const Mask& lesion, double width_mm, const Spacing& spacing,
                const Mask* field_of_view);

// "ring5mm" for 5, "ring2.5mm" for 2.5.
std::string RingRegionName(double width_mm);

}  // namespace fedrad::site_agent::radiomics
