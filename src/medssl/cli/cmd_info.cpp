// `medssl info FILE [--json]`: what a medical image file holds, as stored on disk (like nibabel / fslinfo).
#include <cstdio>
#include <nlohmann/json.hpp>

#include "medssl/cli/command.h"
#include "medssl/core/error.h"
#include "medssl/core/geometry.h"
#include "medssl/io/image2d.h"
#include "medssl/io/nifti.h"

namespace medssl::cli {
namespace {

using nlohmann::json;

json describe(const std::string& path) {
  json out;
  out["path"] = path;
  if (io::is_nifti_path(path)) {
    auto header = io::read_nifti_header(path);
    io::NiftiReadOptions options;
    options.to_ras = false;  // describe the file as stored; orientation is reported separately
    auto image = io::read_nifti(path, options);
    auto stats = io::compute_stats(image);
    out["format"] = fmt::format("NIfTI-{}", header.version);
    out["shape"] = header.dims;  // (i, j, k[, t, ...]) as stored, like nibabel's img.shape
    out["spacing"] = header.pixdim;
    json affine = json::array();
    for (const auto& row : header.affine) affine.push_back(row);
    out["affine"] = affine;
    out["affine_source"] = header.affine_source;
    out["orientation"] = orientation_code(header.affine);
    out["dtype"] = io::dtype_name(header.dtype);
    out["scl_slope"] = header.scl_slope;
    out["scl_inter"] = header.scl_inter;
    out["min"] = stats.min;
    out["max"] = stats.max;
    out["mean"] = stats.mean;
    out["non_finite"] = stats.non_finite;
    // What medssl trains on after RAS+ reorientation: (C, D, H, W) with D=k, H=j, W=i.
    std::vector<int64_t> tensor_shape{image.channels};
    tensor_shape.insert(tensor_shape.end(), image.shape.begin(), image.shape.end());
    out["tensor_shape"] = tensor_shape;
  } else if (io::is_image2d_path(path)) {
    auto image = io::read_image2d(path);
    auto stats = io::compute_stats(image);
    out["format"] = "picture";
    std::vector<int64_t> shape = image.shape;  // (H, W[, C]) like numpy.asarray(PIL.Image.open(path))
    if (image.channels > 1) shape.push_back(image.channels);
    out["shape"] = shape;
    out["spacing"] = {1.0, 1.0};
    json affine = json::array();
    for (const auto& row : image.affine) affine.push_back(row);
    out["affine"] = affine;
    out["dtype"] = io::dtype_name(image.disk_dtype);
    out["min"] = stats.min;
    out["max"] = stats.max;
    out["mean"] = stats.mean;
    out["non_finite"] = stats.non_finite;
    out["tensor_shape"] = {image.channels, image.shape[0], image.shape[1]};
  } else {
    fail("{}: not a NIfTI (.nii, .nii.gz) or picture (.png, .jpg, .jpeg, .bmp) file name", path);
  }
  return out;
}

void print_text(const json& d) {
  auto list = [](const json& a) {
    std::string s;
    for (const auto& v : a) s += (s.empty() ? "" : " x ") + (v.is_number_float() ? fmt::format("{:.6g}", v.get<double>()) : v.dump());
    return s;
  };
  std::printf("%s\n", d["path"].get<std::string>().c_str());
  std::printf("  format       %s\n", d["format"].get<std::string>().c_str());
  std::printf("  shape        %s\n", list(d["shape"]).c_str());
  std::printf("  spacing      %s\n", list(d["spacing"]).c_str());
  std::printf("  dtype        %s\n", d["dtype"].get<std::string>().c_str());
  if (d.contains("orientation"))
    std::printf("  orientation  %s (affine from %s)\n", d["orientation"].get<std::string>().c_str(),
                d["affine_source"].get<std::string>().c_str());
  std::printf("  affine\n");
  for (const auto& row : d["affine"])
    std::printf("    [%12.6g %12.6g %12.6g %12.6g]\n", row[0].get<double>(), row[1].get<double>(), row[2].get<double>(),
                row[3].get<double>());
  std::printf("  min/max/mean %.6g / %.6g / %.6g\n", d["min"].get<double>(), d["max"].get<double>(), d["mean"].get<double>());
  if (d["non_finite"].get<int64_t>() > 0)
    std::printf("  WARNING      %lld NaN/inf values\n", static_cast<long long>(d["non_finite"].get<int64_t>()));
  std::printf("  tensor       (C, D, H, W) = %s after RAS+ reorientation\n", list(d["tensor_shape"]).c_str());
}

MEDSSL_COMMAND("info", [](CLI::App& app) {
  auto* cmd = app.add_subcommand("info", "Show shape, spacing, affine, dtype and value range of a NIfTI or picture file");
  static std::vector<std::string> files;
  static bool as_json = false;
  cmd->add_option("FILE", files, "NIfTI (.nii, .nii.gz) or picture (.png, .jpg) files")->required();
  cmd->add_flag("--json", as_json, "print JSON (keys: shape, spacing, affine, dtype, min, max, mean, ...)");
  cmd->callback([] {
    apply_global_options();
    json all = json::array();
    for (const auto& f : files) {
      json d = describe(f);
      if (as_json) all.push_back(d);
      else print_text(d);
    }
    if (as_json) std::printf("%s\n", (files.size() == 1 ? all[0] : all).dump(2).c_str());
  });
});

}  // namespace
}  // namespace medssl::cli
