#include "fedrad/site_agent/radiomics/image_io.hpp"

#include <cmath>
#include <filesystem>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

namespace fedrad::site_agent::radiomics {
namespace {

constexpr double kLumaR = 0.299;
constexpr double kLumaG = 0.587;
constexpr double kLumaB = 0.114;

common::Result<cv::Mat> ReadRaw(const std::string& path, const char* what) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return common::NotFound(path + ": " + what + " file does not exist");
  }
  if (std::filesystem::is_directory(path, ec)) {
    return common::InvalidArgument(path + ": " + what + " path is a directory, expected a file");
  }
  cv::Mat mat;
  try {
    mat = cv::imread(path, cv::IMREAD_UNCHANGED);
  } catch (const cv::Exception& e) {
    return common::ParseError(path + ": cannot decode " + what + ": " + e.what());
  }
  if (mat.empty()) {
    return common::ParseError(path + ": cannot decode " + what +
                              ": expected a PNG, TIFF, JPEG or BMP image (file unreadable, "
                              "truncated or of another format)");
  }
  if (mat.dims != 2) {
    return common::InvalidArgument(path + ": " + what + " has " + std::to_string(mat.dims) +
                                   " dimensions, expected a 2D image");
  }
  return mat;
}

double Sample(const cv::Mat& mat, int x, int y, int channel) {
  const int c = mat.channels();
  switch (mat.depth()) {
    case CV_8U:
      return mat.ptr<std::uint8_t>(y)[x * c + channel];
    case CV_16U:
      return mat.ptr<std::uint16_t>(y)[x * c + channel];
    case CV_16S:
      return mat.ptr<std::int16_t>(y)[x * c + channel];
    case CV_32F:
      return mat.ptr<float>(y)[x * c + channel];
    case CV_64F:
      return mat.ptr<double>(y)[x * c + channel];
    default:
      return 0.0;
  }
}

int BitDepth(int depth) {
  switch (depth) {
    case CV_8U:
      return 8;
    case CV_16U:
    case CV_16S:
      return 16;
    case CV_32F:
      return 32;
    case CV_64F:
      return 64;
    default:
      return 0;
  }
}

}  // namespace

common::Result<ColorRule> ParseColorRule(const std::string& name) {
  if (name == "luminance") return ColorRule::kLuminance;
  if (name == "red") return ColorRule::kRed;
  if (name == "green") return ColorRule::kGreen;
  if (name == "blue") return ColorRule::kBlue;
  return common::InvalidArgument("unknown colour rule \"" + name +
                                 "\": expected luminance, red, green or blue");
}

std::string ColorRuleName(ColorRule rule) {
  switch (rule) {
    case ColorRule::kLuminance:
      return "luminance";
    case ColorRule::kRed:
      return "red";
    case ColorRule::kGreen:
      return "green";
    case ColorRule::kBlue:
      return "blue";
  }
  return "luminance";
}

common::Result<LoadedImage> LoadImage(const std::string& path, ColorRule rule,
                                      const Spacing& spacing) {
  FEDRAD_ASSIGN_OR_RETURN(cv::Mat mat, ReadRaw(path, "image"));
  LoadedImage out;
  out.channels = mat.channels();
  out.bit_depth = BitDepth(mat.depth());
  if (out.bit_depth == 0) {
    return common::InvalidArgument(path +
                                   ": unsupported pixel type; expected 8- or 16-bit "
                                   "integers or 32-bit floats");
  }
  if (out.channels != 1 && out.channels != 3 && out.channels != 4) {
    return common::InvalidArgument(path + ": image has " + std::to_string(out.channels) +
                                   " channels; expected 1 (grey), 3 (RGB) or 4 (RGBA)");
  }
  if (!(spacing.x_mm > 0.0) || !(spacing.y_mm > 0.0)) {
    return common::InvalidArgument(path + ": pixel spacing must be positive (mm), got " +
                                   std::to_string(spacing.x_mm) + " x " +
                                   std::to_string(spacing.y_mm));
  }
  out.image.spacing = spacing;
  out.image.pixels = Grid<double>(mat.cols, mat.rows);
  // OpenCV stores colour as B, G, R(, A).
  for (int y = 0; y < mat.rows; ++y) {
    for (int x = 0; x < mat.cols; ++x) {
      double v = 0.0;
      if (out.channels == 1) {
        v = Sample(mat, x, y, 0);
      } else {
        const double b = Sample(mat, x, y, 0);
        const double g = Sample(mat, x, y, 1);
        const double r = Sample(mat, x, y, 2);
        switch (rule) {
          case ColorRule::kLuminance:
            v = kLumaR * r + kLumaG * g + kLumaB * b;
            break;
          case ColorRule::kRed:
            v = r;
            break;
          case ColorRule::kGreen:
            v = g;
            break;
          case ColorRule::kBlue:
            v = b;
            break;
        }
      }
      if (!std::isfinite(v)) {
        return common::InvalidArgument(path + ": pixel (" + std::to_string(x) + ", " +
                                       std::to_string(y) + ") is not a finite number");
      }
      out.image.pixels.at(x, y) = v;
    }
  }
  if (out.channels != 1) {
    out.warnings.push_back("colour image (" + std::to_string(out.channels) +
                           " channels) converted to grey by rule \"" + ColorRuleName(rule) + "\"");
  }
  return out;
}

common::Result<Mask> LoadMask(const std::string& path, int label, int expected_width,
                              int expected_height) {
  FEDRAD_ASSIGN_OR_RETURN(cv::Mat mat, ReadRaw(path, "mask"));
  if (mat.channels() != 1) {
    return common::InvalidArgument(path + ": mask has " + std::to_string(mat.channels()) +
                                   " channels; expected a single-channel (grey) mask");
  }
  if (mat.cols != expected_width || mat.rows != expected_height) {
    return common::InvalidArgument(path + ": mask is " + std::to_string(mat.cols) + "x" +
                                   std::to_string(mat.rows) + " pixels but the image is " +
                                   std::to_string(expected_width) + "x" +
                                   std::to_string(expected_height));
  }
  if (BitDepth(mat.depth()) == 0) {
    return common::InvalidArgument(path + ": unsupported mask pixel type");
  }
  Mask mask(mat.cols, mat.rows, 0);
  for (int y = 0; y < mat.rows; ++y) {
    for (int x = 0; x < mat.cols; ++x) {
      const double v = Sample(mat, x, y, 0);
      const bool inside = label == 0 ? v != 0.0 : v == static_cast<double>(label);
      mask.at(x, y) = inside ? 1 : 0;
    }
  }
  return mask;
}

}  // namespace fedrad::site_agent::radiomics
