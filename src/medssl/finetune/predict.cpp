#include "medssl/finetune/predict.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <regex>

#include "medssl/core/atomic_file.h"
#include "medssl/core/error.h"
#include "medssl/core/log.h"
#include "medssl/core/progress.h"
#include "medssl/data/cache/prepare.h"
#include "medssl/data/cache/preprocess.h"
#include "medssl/data/transforms/crop_or_pad.h"
#include "medssl/data/transforms/resample_to_grid.h"
#include "medssl/data/transforms/resize.h"
#include "medssl/finetune/inference.h"
#include "medssl/finetune/model_files.h"
#include "medssl/finetune/predict_contract.h"
#include "medssl/metrics/kappa.h"

namespace medssl::finetune {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool is_nifti(const std::string& name) { return ends_with(lower(name), ".nii") || ends_with(lower(name), ".nii.gz"); }
bool is_picture(const std::string& name) {
  const std::string n = lower(name);
  return ends_with(n, ".png") || ends_with(n, ".jpg") || ends_with(n, ".jpeg") || ends_with(n, ".bmp");
}

// File name without its image extension (.nii.gz counts as one).
std::string stem_of(const std::string& path) {
  std::string name = fs::path(path).filename().string();
  if (ends_with(lower(name), ".nii.gz")) return name.substr(0, name.size() - 7);
  return fs::path(name).stem().string();
}

// Segmentation output for a case written next to others in a folder: CASE.nii.gz (CASE.nii for .nii inputs,
// CASE.png for pictures).
std::string output_name(const PredictCase& c) {
  const std::string first = lower(c.files.front());
  if (is_picture(first)) return c.id + ".png";
  return c.id + (ends_with(first, ".nii") ? ".nii" : ".nii.gz");
}

torch::Tensor class_histogram(const torch::Tensor& labels, int64_t classes) {
  return torch::bincount(labels.flatten().to(torch::kInt64), {}, classes);
}

json histogram_json(const torch::Tensor& counts) {
  json a = json::array();
  for (int64_t i = 0; i < counts.numel(); ++i) a.push_back(counts[i].item<int64_t>());
  return a;
}

struct Predictor {
  LoadedModel loaded;
  InferenceOptions inference;
  const PredictContract* contract = nullptr;

  const ModelDescription& d() const { return loaded.description; }
  const json& settings() const { return d().preprocessing; }

  void check_channels(int64_t channels, const PredictCase& c) const {
    check(channels == d().spec.in_channels, "predict: {} has {} channel(s) but the model takes {} ({}); give one file "
          "per channel (CASE_0000, CASE_0001, ...) or a 4D file", c.files.front(), channels, d().spec.in_channels,
          c.id);
  }

  // Segmentation of a volume: label map on the input's grid, as a Volume ready to save with the input's header.
  Volume segment_volume(const PredictCase& c) const {
    check(d().spec.spatial_dims == 3 || d().slice_axis > 0, "predict: {} is a volume but the model ({}) takes 2D "
          "pictures", c.files.front(), d().spec.architecture);
    Volume original = cache::load_channels(c.files, c.id);
    check_channels(original.channels(), c);
    check(torch::isfinite(original.data).all().item<bool>(), "predict: {} holds NaN or inf values", c.files.front());
    if (contract) contract->check_volume(c.id, original.spacing);
    Volume prepared = cache::preprocess_volume(original, settings());
    torch::Tensor image = cache::as_stored(prepared.data, settings());
    torch::Tensor scores = volume_probabilities(loaded.model, image, d().slice_axis, inference);
    Volume labels = original;
    labels.data = labels_on_grid(scores, prepared.affine, original.shape(), original.affine).unsqueeze(0).to(torch::kFloat32);
    return labels;
  }

  // Segmentation of a picture: the picture is handled as a one-slice volume with a unit-spacing affine, so the same
  // affine bookkeeping undoes the resize or crop/pad.
  Image2D segment_picture(const PredictCase& c) const {
    check(d().spec.spatial_dims == 2 && d().slice_axis == 0, "predict: {} is a picture but the model takes volumes",
          c.files.front());
    check(c.files.size() == 1, "predict: {}: a picture case has one file", c.id);
    Image2D picture = load_image2d(c.files.front());
    check_channels(picture.channels(), c);
    Volume as_volume;
    as_volume.data = cache::normalize_intensity(picture.data, settings(), picture.disk_dtype == io::DType::uint8).unsqueeze(1);
    as_volume.path = picture.path;
    const std::array<int64_t, 3> original_shape{1, picture.shape()[0], picture.shape()[1]};
    const int64_t size = settings().value("size", 0);
    if (size > 0) {
      const std::array<int64_t, 3> target{1, size, size};
      as_volume = settings().value("resize_mode", std::string("resize")) == "resize" ? resize_to(as_volume, target)
                                                                                     : crop_or_pad_to(as_volume, target);
    }
    torch::Tensor image = cache::as_stored(as_volume.data.squeeze(1), settings());
    torch::Tensor scores = torch::softmax(segmentation_logits(loaded.model, image, inference), 0).unsqueeze(1);
    Image2D out = picture;
    out.data = labels_on_grid(scores, as_volume.affine, original_shape, identity44()).to(torch::kFloat32);
    out.disk_dtype = io::DType::uint8;
    return out;
  }

  // Classification of a picture or a volume: {"predicted", "scores"}.
  json classify(const PredictCase& c) const {
    torch::Tensor image;
    if (is_picture(c.files.front())) {
      check(d().spec.spatial_dims == 2, "predict: {} is a picture but the model takes volumes", c.files.front());
      Image2D picture = load_image2d(c.files.front());
      check_channels(picture.channels(), c);
      image = cache::preprocess_picture(picture, settings()).data;
    } else {
      check(d().spec.spatial_dims == 3, "predict: {} is a volume but the classifier takes 2D pictures", c.files.front());
      Volume volume = cache::load_channels(c.files, c.id);
      check_channels(volume.channels(), c);
      if (contract) contract->check_volume(c.id, volume.spacing);
      image = cache::preprocess_volume(volume, settings()).data;
    }
    image = cache::as_stored(image, settings()).unsqueeze(0).to(model_device(*loaded.model.module));
    torch::Tensor logits = loaded.model.forward(image).to(torch::kCPU, torch::kFloat32);
    torch::Tensor scores = d().spec.multilabel ? torch::sigmoid(logits) : torch::softmax(logits, 1);
    const int64_t predicted = d().spec.multilabel ? metrics::decode_ordinal(scores)[0].item<int64_t>()
                                                  : logits.argmax(1)[0].item<int64_t>();
    json s = json::array();
    for (int64_t k = 0; k < scores.size(1); ++k) s.push_back(scores[0][k].item<double>());
    return {{"id", c.id}, {"predicted", predicted}, {"scores", s}};
  }
};

}  // namespace

std::vector<PredictCase> list_predict_cases(const std::string& input) {
  check(!input.empty(), "predict: --in FILE_OR_FOLDER is required");
  check(fs::exists(input), "predict: --in {} does not exist", input);
  if (!fs::is_directory(input)) {
    check(is_nifti(input) || is_picture(input), "predict: --in {} is neither NIfTI (.nii, .nii.gz) nor a picture "
          "(.png, .jpg, .bmp)", input);
    return {{stem_of(input), {input}}};
  }
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(input))
    if (entry.is_regular_file() && (is_nifti(entry.path().string()) || is_picture(entry.path().string())))
      files.push_back(entry.path().string());
  std::sort(files.begin(), files.end());
  check(!files.empty(), "predict: folder {} holds no .nii, .nii.gz, .png, .jpg or .bmp file", input);

  // nnU-Net channel naming applies only when every NIfTI file follows it (a lone "scan_2020.nii.gz" is a case).
  static const std::regex channel_suffix("^(.+)_([0-9]{4})$");
  bool all_channel_named = true;
  for (const auto& f : files)
    if (is_nifti(f) && !std::regex_match(stem_of(f), channel_suffix)) all_channel_named = false;
  std::map<std::string, std::map<int, std::string>> grouped;
  std::vector<PredictCase> cases;
  for (const auto& f : files) {
    std::smatch m;
    const std::string stem = stem_of(f);
    if (is_nifti(f) && all_channel_named && std::regex_match(stem, m, channel_suffix)) {
      grouped[m[1].str()][std::stoi(m[2].str())] = f;
    } else {
      cases.push_back({stem, {f}});
    }
  }
  for (const auto& [id, channels] : grouped) {
    PredictCase c{id, {}};
    int expected = 0;
    for (const auto& [index, file] : channels) {
      check(index == expected, "predict: case {} in {} lacks channel file {}_{:04d} (found {})", id, input, id, expected,
            file);
      c.files.push_back(file);
      ++expected;
    }
    cases.push_back(c);
  }
  std::sort(cases.begin(), cases.end(), [](const PredictCase& a, const PredictCase& b) { return a.id < b.id; });
  return cases;
}

json run_prediction(const PredictRequest& request) {
  check(!request.model_dir.empty(), "predict: --model DIR is required");
  check(!request.output.empty(), "predict: --out FILE_OR_FOLDER is required");
  Predictor p;
  p.loaded = load_model(request.model_dir);
  const auto& d = p.loaded.description;
  check(!d.preprocessing.is_null(), "predict: {}/model.json records no preprocessing settings; predict needs them to "
        "prepare new images like the training data", request.model_dir);
  const PredictContract contract(request.model_dir, d, request.strict_contract);
  p.contract = &contract;
  p.inference.patch_size = d.patch_size;
  p.inference.overlap = request.overlap >= 0 ? request.overlap : d.sw_overlap;
  check(p.inference.overlap < 1.0, "predict: --overlap must be in [0, 1), got {}", p.inference.overlap);
  p.inference.batch_size = request.batch_size;
  p.inference.blend = request.blend;
  p.loaded.model.module->to(torch::Device(request.device));
  p.loaded.model.module->eval();
  torch::NoGradGuard no_grad;

  const auto cases = list_predict_cases(request.input);
  const bool segmentation = d.spec.task == "segmentation";
  const bool single_file = !fs::is_directory(request.input);
  // One input with a file-like --out writes that file; otherwise --out is a folder.
  const bool out_is_file = single_file && (segmentation ? (is_nifti(request.output) || is_picture(request.output))
                                                        : ends_with(lower(request.output), ".csv"));
  if (!out_is_file) make_dirs(request.output);
  else if (fs::path(request.output).has_parent_path()) make_dirs(fs::path(request.output).parent_path().string());

  json result = {{"model", request.model_dir}, {"task", d.spec.task}, {"cases", json::array()}};
  Progress progress("predict", static_cast<int64_t>(cases.size()), "cases");
  std::string csv = "id,predicted";
  if (!segmentation)
    for (int64_t k = 0; k < d.spec.num_outputs; ++k) csv += ",score_" + std::to_string(k);
  csv += "\n";
  for (const auto& c : cases) {
    Stopwatch watch;
    json row;
    if (segmentation) {
      const std::string out = out_is_file ? request.output : request.output + "/" + output_name(c);
      if (!request.overwrite && fs::exists(out)) {
        log::info("predict: {} exists, skipping case {} (--overwrite to redo)", out, c.id);
        progress.advance(1, "skipped " + c.id);
        result["cases"].push_back({{"id", c.id}, {"output", out}, {"skipped", true}});
        continue;
      }
      torch::Tensor labels;
      if (is_picture(c.files.front())) {
        Image2D seg = p.segment_picture(c);
        save_image2d(out, seg);
        labels = seg.data;
      } else {
        Volume seg = p.segment_volume(c);
        save_volume(out, seg, io::DType::uint8, true);
        labels = seg.data;
      }
      row = {{"id", c.id}, {"output", out}, {"shape", labels.sizes().vec()},
             {"voxels_per_class", histogram_json(class_histogram(labels, d.spec.num_outputs))}};
    } else {
      row = p.classify(c);
      csv += c.id + "," + std::to_string(row["predicted"].get<int64_t>());
      for (const auto& s : row["scores"]) csv += fmt::format(",{:.6f}", s.get<double>());
      csv += "\n";
    }
    row["inputs"] = c.files;
    row["seconds"] = watch.seconds();
    result["cases"].push_back(row);
    progress.advance(1, c.id);
  }
  progress.finish();
  if (!segmentation) {
    const std::string out = out_is_file ? request.output : request.output + "/predictions.csv";
    write_file_atomic(out, csv);
    result["output"] = out;
  }
  return result;
}

}  // namespace medssl::finetune
