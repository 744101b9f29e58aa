#include "medssl/data/cache/preprocess.h"

#include <string>

#include "medssl/core/error.h"
#include "medssl/core/log.h"
#include "medssl/data/transforms/crop.h"
#include "medssl/data/transforms/crop_or_pad.h"
#include "medssl/data/transforms/foreground.h"
#include "medssl/data/transforms/intensity_window.h"
#include "medssl/data/transforms/normalize.h"
#include "medssl/data/transforms/resample.h"
#include "medssl/data/transforms/resize.h"

namespace medssl::cache {

using json = nlohmann::json;

namespace {

bool is_set(const json& s, const char* key) { return s.contains(key) && !s[key].is_null(); }

// Brings image (and label) to the `size` cube/square: interpolation (labels nearest) or centre crop/pad.
template <size_t Dims, typename Image>
void fit_to_size(Image& image, std::optional<Image>* label, const json& s) {
  int64_t size = s.value("size", 0);
  if (size <= 0) return;
  std::array<int64_t, Dims> target;
  target.fill(size);
  const bool has_label = label && label->has_value();
  if (s.value("resize_mode", std::string("resize")) == "resize") {
    image = resize_to(image, target, Interp::linear);
    if (has_label) *label = resize_label(**label, target);
  } else {
    image = crop_or_pad_to(image, target);
    if (has_label) *label = crop_or_pad_to(**label, target);
  }
}

}  // namespace

Volume load_channels(const std::vector<std::string>& files, const std::string& what) {
  check(!files.empty(), "{}: no image file", what);
  Volume v = load_volume(files[0]);
  if (files.size() > 1) {
    std::vector<torch::Tensor> channels{v.data};
    for (size_t i = 1; i < files.size(); ++i) {
      Volume other = load_volume(files[i]);
      check(other.shape() == v.shape(), "{}: channel file '{}' has shape {}x{}x{}, channel 0 ('{}') has {}x{}x{}", what,
            files[i], other.shape()[0], other.shape()[1], other.shape()[2], files[0], v.shape()[0], v.shape()[1],
            v.shape()[2]);
      channels.push_back(other.data);
    }
    v.data = torch::cat(channels, 0);
  }
  return v;
}

torch::Tensor normalize_intensity(const torch::Tensor& data, const json& s, bool is_picture) {
  torch::Tensor x = data;
  if (is_set(s, "window")) {
    auto w = s["window"].get<std::vector<double>>();
    x = window_intensity(x, w[0], w[1], 0.0, 1.0, true);
  }
  std::string mode = s.value("normalize", std::string("auto"));
  if (mode == "auto") mode = is_set(s, "window") ? "none" : (is_picture ? "divide_by_255" : "minmax");
  if (mode == "minmax") return normalize_minmax(x);
  if (mode == "zscore") return normalize_zscore(x);
  if (mode == "divide_by_255") return x / 255.0;
  return x;  // "none"
}

Volume preprocess_volume(Volume image, const json& s, std::optional<Volume>* label) {
  const bool has_label = label && label->has_value();
  if (is_set(s, "spacing")) {
    auto sp = s["spacing"].get<std::vector<double>>();
    std::array<double, 3> target{sp[0], sp[1], sp[2]};
    image = resample_to_spacing(image, target, Interp::linear);
    if (has_label) *label = resample_label_to_spacing(**label, target);
  }
  image.data = normalize_intensity(image.data, s, false);
  if (is_set(s, "crop_foreground")) {
    auto box = foreground_bbox(image.data, s["crop_foreground"].get<double>(), 0);
    if (box) {
      image = crop_with_box(image, *box);
      if (has_label) *label = crop_with_box(**label, *box);
    } else {
      log::warn("{}: no voxel above the foreground threshold; keeping the whole volume", image.path);
    }
  }
  fit_to_size<3>(image, label, s);
  return image;
}

Image2D preprocess_picture(Image2D image, const json& s, std::optional<Image2D>* label) {
  image.data = normalize_intensity(image.data, s, image.disk_dtype == io::DType::uint8);
  fit_to_size<2>(image, label, s);
  return image;
}

torch::Tensor as_stored(const torch::Tensor& image, const json& s) {
  const bool half = s.value("store_dtype", std::string("float32")) == "float16";
  return half ? image.to(torch::kFloat16).to(torch::kFloat32) : image.to(torch::kFloat32);
}

}  // namespace medssl::cache
