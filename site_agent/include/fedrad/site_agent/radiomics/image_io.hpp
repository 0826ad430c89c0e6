// Reading ultrasound exports and their masks (PNG, TIFF, JPEG, BMP through
// OpenCV's imgcodecs).
//
// Images: 8- or 16-bit (unsigned or signed) integer and 32- or 64-bit float
// grey-level images (float via TIFF) are taken as they are. Colour images (3 or 4 channels; alpha is ignored) are converted
// by a declared rule, recorded as a warning in the provenance:
//   luminance (default): Y = 0.299 R + 0.587 G + 0.114 B (ITU-R BT.601), in
//                        double precision, not rounded;
//   red | green | blue:  that channel only.
// Masks: a pixel is in the ROI when its value is non-zero (label 0, the
// default, so 0/1 and 0/255 masks both work) or equals the chosen label.
// Colour masks are refused: a mask must be unambiguous.
#pragma once

#include <string>
#include <vector>

#include "fedrad/common/status.hpp"
#include "fedrad/site_agent/radiomics/image.hpp"

namespace fedrad::site_agent::radiomics {

enum class ColorRule { kLuminance, kRed, kGreen, kBlue };

// "luminance" | "red" | "green" | "blue".
common::Result<ColorRule> ParseColorRule(const std::string& name);
std::string ColorRuleName(ColorRule rule);

struct LoadedImage {
  Image image;
  int channels = 1;   // in the file
  int bit_depth = 8;  // 8, 16 or 32 (float)
  std::vector<std::string> warnings;
};

// Reads an image; `spacing` is attached as given. Errors name the file and
// say what was expected.
common::Result<LoadedImage> LoadImage(const std::string& path, ColorRule rule,
                                      const Spacing& spacing);

// Reads a mask and checks that it has the expected size (the image's).
// label == 0: non-zero is ROI; otherwise value == label is ROI.
common::Result<Mask> LoadMask(const std::string& path, int label, int expected_width,
                              int expected_height);

}  // namespace fedrad::site_agent::radiomics
