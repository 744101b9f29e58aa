// nnU-Net v2 raw layout (nnUNet_raw/DatasetXXX_Name):
//   dataset.json  {"channel_names": {"0": "CT"}, "labels": {"background": 0, "pancreas": 1}, "numTraining": 2,
//                  "file_ending": ".nii.gz"}
//   imagesTr/CASE_0000.nii.gz ...   one file per channel, 4-digit channel suffix
//   labelsTr/CASE.nii.gz
//   imagesTs/CASE_0000.nii.gz ...   optional, image-only
// Cases are discovered from imagesTr, as nnU-Net does. 2D data sets use file_ending ".png"; there nnU-Net also
// allows one RGB file per case (CASE_0000.png holding channels R, G, B), which is accepted when every case of the
// folder has only channel 0000.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <set>

#include "medssl/core/error.h"
#include "medssl/data/layouts/dataset_index.h"
#include "medssl/data/layouts/header_checks.h"
#include "medssl/data/layouts/layout_common.h"

namespace medssl::data {
namespace {
using layout::Json;
using ChannelFiles = std::map<int, std::string>;  // channel index -> absolute path

std::map<int, std::string> read_nnunet_labels(const Json& labels, const std::string& file) {
  if (!labels.is_object())
    fail("{}: 'labels' must be an object like {{\"background\": 0, \"pancreas\": 1}}, found {}", file,
         layout::json_type_name(labels));
  std::map<int, std::string> out;
  for (auto it = labels.begin(); it != labels.end(); ++it) {
    const std::string what = "'labels' entry \"" + it.key() + "\"";
    if (it.value().is_array())
      fail("{}: {} is a list of values ({}): region-based labels are not supported by medssl; give each label one "
           "integer value",
           file, what, it.value().dump());
    int value = layout::require_int(it.value(), what, file);
    auto [pos, inserted] = out.emplace(value, it.key());
    if (!inserted) fail("{}: labels \"{}\" and \"{}\" both have value {}", file, pos->second, it.key(), value);
  }
  check(out.count(0) == 1, "{}: 'labels' must give background the value 0 (e.g. \"background\": 0)", file);
  return out;
}

/// Groups the image files of `folder` by case. Every file with the data set's ending must be named
/// CASE_XXXX<ending> with XXXX < number of channels.
std::map<std::string, ChannelFiles> discover_cases(const std::string& folder, const std::string& ending,
                                                   int num_channels) {
  std::map<std::string, ChannelFiles> cases;
  for (const auto& name : layout::list_visible_files(folder)) {
    if (name.size() <= ending.size() || name.compare(name.size() - ending.size(), std::string::npos, ending) != 0)
      continue;
    const std::string stem = name.substr(0, name.size() - ending.size());
    bool well_formed = stem.size() >= 6 && stem[stem.size() - 5] == '_' &&
                       std::all_of(stem.end() - 4, stem.end(), [](unsigned char c) { return std::isdigit(c); });
    if (!well_formed)
      fail("{}/{}: nnU-Net image files must be named CASE_XXXX{} with a 4-digit channel index (e.g. case_001_0000{})",
           folder, name, ending, ending);
    const std::string id = stem.substr(0, stem.size() - 5);
    const int channel = std::stoi(stem.substr(stem.size() - 4));
    if (channel >= num_channels)
      fail("{}/{}: channel {:04d} but dataset.json 'channel_names' declares {} channel(s) (0000..{:04d})", folder, name,
           channel, num_channels, num_channels - 1);
    cases[id][channel] = folder + "/" + name;
  }
  return cases;
}

/// Turns discovered files into records, requiring every channel of every case.
std::vector<CaseRecord> complete_cases(const std::map<std::string, ChannelFiles>& cases, const std::string& folder,
                                       const std::string& ending, const std::vector<std::string>& channel_names) {
  const int num_channels = static_cast<int>(channel_names.size());
  const bool packed_pictures = layout::is_picture_ending(ending) && num_channels > 1 &&
                               std::all_of(cases.begin(), cases.end(), [](const auto& c) {
                                 return c.second.size() == 1 && c.second.count(0) == 1;
                               });
  const int files_per_case = packed_pictures ? 1 : num_channels;
  std::vector<CaseRecord> records;
  for (const auto& [id, files] : cases) {
    CaseRecord record;
    record.id = id;
    for (int c = 0; c < files_per_case; ++c) {
      auto it = files.find(c);
      if (it == files.end())
        fail("{}: case '{}' is missing channel {:04d} ('{}'): expected {}/{}_{:04d}{}", folder, id, c,
             channel_names[static_cast<size_t>(c)], folder, id, c, ending);
      record.images.push_back(it->second);
    }
    records.push_back(std::move(record));
  }
  return records;
}

}  // namespace

DatasetIndex read_nnunet(const std::string& root_arg, const OpenOptions& options) {
  DatasetIndex index;
  index.root = layout::absolute_path(root_arg);
  index.layout = "nnunet";
  layout::require_folder(index.root, "nnU-Net data set folder");
  const std::string file = index.root + "/dataset.json";
  check(layout::is_regular_file(file), "nnU-Net data set '{}' has no dataset.json", index.root);
  const Json json = layout::read_json_object(file);

  auto name_it = json.find("name");
  index.name = name_it != json.end() ? layout::require_string(*name_it, "'name'", file)
                                     : std::filesystem::path(index.root).filename().string();
  index.channel_names =
      layout::read_indexed_names(layout::require_key(json, "channel_names", file), "channel_names", file);
  check(!index.channel_names.empty(), "{}: 'channel_names' is empty (expected e.g. {{\"0\": \"CT\"}})", file);
  index.labels = read_nnunet_labels(layout::require_key(json, "labels", file), file);
  const int num_training = layout::require_int(layout::require_key(json, "numTraining", file), "'numTraining'", file);
  index.file_ending = layout::require_string(layout::require_key(json, "file_ending", file), "'file_ending'", file);
  check(!index.file_ending.empty() && index.file_ending[0] == '.',
        "{}: 'file_ending' must start with a dot, e.g. \".nii.gz\" (found \"{}\")", file, index.file_ending);
  index.spatial_dims = layout::spatial_dims_for_ending(index.file_ending, file + ": 'file_ending'");
  const int num_channels = static_cast<int>(index.channel_names.size());

  const std::string images_tr = index.root + "/imagesTr";
  const std::string labels_tr = index.root + "/labelsTr";
  layout::require_folder(images_tr, "nnU-Net training image folder");
  index.training = complete_cases(discover_cases(images_tr, index.file_ending, num_channels), images_tr,
                                  index.file_ending, index.channel_names);
  for (auto& record : index.training) {
    record.label = labels_tr + "/" + record.id + index.file_ending;
    if (!layout::is_regular_file(record.label))
      fail("{}: case '{}' has no label map (expected {})", labels_tr, record.id, record.label);
  }
  if (num_training != static_cast<int>(index.training.size()))
    fail("{}: numTraining is {} but {} holds {} case(s)", file, num_training, images_tr, index.training.size());
  check(!index.training.empty(), "{}: no training cases (files named CASE_0000{}) in {}", file, index.file_ending,
        images_tr);

  const std::string images_ts = index.root + "/imagesTs";
  if (layout::is_directory(images_ts))
    index.test = complete_cases(discover_cases(images_ts, index.file_ending, num_channels), images_ts,
                                index.file_ending, index.channel_names);

  layout::check_unique_case_ids(index, file);
  if (options.check_headers) layout::check_index_headers(index);
  return index;
}

}  // namespace medssl::data
