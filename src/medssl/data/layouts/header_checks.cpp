#include "medssl/data/layouts/header_checks.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <vector>

#include "medssl/core/error.h"
#include "medssl/data/layouts/layout_common.h"
#include "medssl/io/image2d.h"
#include "medssl/io/nifti.h"

namespace medssl::data::layout {
namespace {

struct Geometry {
  std::vector<int64_t> spatial;  ///< on-disk order: NIfTI (i, j, k), pictures (H, W)
  int64_t channels = 1;
  bool has_affine = false;
  Mat44 affine = identity44();
};

Geometry read_geometry(const std::string& path) {
  Geometry g;
  if (is_nifti_ending(image_file_ending(path))) {
    io::NiftiHeaderInfo header = io::read_nifti_header(path);
    for (size_t d = 0; d < header.dims.size(); ++d) {
      if (d < 3) g.spatial.push_back(header.dims[d]);
      else g.channels *= header.dims[d];
    }
    while (g.spatial.size() < 3) g.spatial.push_back(1);  // a 2D NIfTI slice is 1 voxel thick
    g.has_affine = true;
    g.affine = header.affine;
  } else {
    io::ImageData image = io::read_image2d(path);
    g.spatial = image.shape;
    g.channels = image.channels;
  }
  return g;
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s;
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? "x" : "") + std::to_string(shape[i]);
  return s;
}

std::string affine_text(const Mat44& m) {
  std::string s = "[";
  for (int r = 0; r < 3; ++r) s += fmt::format("{}[{:.4g}, {:.4g}, {:.4g}, {:.4g}]", r ? ", " : "", m[r][0], m[r][1],
                                               m[r][2], m[r][3]);
  return s + "]";
}

bool affines_match(const Mat44& a, const Mat44& b) {
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) {
      double scale = std::max({1.0, std::abs(a[r][c]), std::abs(b[r][c])});
      if (!(std::abs(a[r][c] - b[r][c]) <= kAffineTolerance * scale)) return false;
    }
  return true;
}

void check_same_geometry(const std::string& reference_path, const Geometry& reference, const std::string& path,
                         const Geometry& other, const std::string& case_id) {
  if (other.spatial != reference.spatial)
    fail("{}: shape {} does not match {} of '{}' (case '{}')", path, shape_text(other.spatial),
         shape_text(reference.spatial), reference_path, case_id);
  if (reference.has_affine && other.has_affine && !affines_match(reference.affine, other.affine))
    fail("{}: affine {} does not match {} of '{}' (case '{}'; relative tolerance {})", path,
         affine_text(other.affine), affine_text(reference.affine), reference_path, case_id, kAffineTolerance);
}

void check_label_values(const std::string& path, const std::map<int, std::string>& labels) {
  io::ImageData label;
  if (is_nifti_ending(image_file_ending(path))) {
    io::NiftiReadOptions options;
    options.to_ras = false;  // values only; no need to reorder voxels
    label = io::read_nifti(path, options);
  } else {
    label = io::read_image2d(path);
  }
  const int max_label = labels.empty() ? -1 : labels.rbegin()->first;
  std::vector<char> allowed(static_cast<size_t>(max_label + 1), 0);
  for (const auto& [value, name] : labels) allowed[static_cast<size_t>(value)] = 1;
  std::set<double> offending;
  for (float v : label.data) {
    bool ok = std::isfinite(v) && v == std::floor(v) && v >= 0 && v <= max_label && allowed[static_cast<size_t>(v)];
    if (!ok && offending.size() < 10) offending.insert(static_cast<double>(v));
  }
  if (offending.empty()) return;
  std::string values, declared;
  for (double v : offending) values += (values.empty() ? "" : ", ") + fmt::format("{}", v);
  for (const auto& [value, name] : labels) declared += (declared.empty() ? "" : ", ") + std::to_string(value);
  fail("{}: label map holds value(s) {} that are not among the declared labels ({})", path, values, declared);
}

}  // namespace

void check_case_headers(const CaseRecord& record, int expected_channels, const std::map<int, std::string>& labels) {
  check(!record.images.empty(), "case '{}' has no image files", record.id);
  const std::string& first_path = record.images.front();
  const Geometry first = read_geometry(first_path);
  int64_t channels = first.channels;
  for (size_t i = 1; i < record.images.size(); ++i) {
    Geometry g = read_geometry(record.images[i]);
    check_same_geometry(first_path, first, record.images[i], g, record.id);
    channels += g.channels;
  }
  if (expected_channels >= 0 && channels != expected_channels)
    fail("{}: case '{}' has {} image channel(s) but the data set declares {}", first_path, record.id, channels,
         expected_channels);
  if (record.label.empty()) return;
  Geometry label = read_geometry(record.label);
  check_same_geometry(first_path, first, record.label, label, record.id);
  check(label.channels == 1, "{}: a label map must have one channel, found {} (case '{}')", record.label,
        label.channels, record.id);
  if (!labels.empty()) check_label_values(record.label, labels);
}

void check_index_headers(const DatasetIndex& index) {
  const int channels = index.channel_names.empty() ? -1 : static_cast<int>(index.channel_names.size());
  for (const auto& c : index.training) check_case_headers(c, channels, index.labels);
  for (const auto& c : index.test) check_case_headers(c, channels, {});
  for (const auto& c : index.unlabelled) check_case_headers(c, channels, {});
}

}  // namespace medssl::data::layout
