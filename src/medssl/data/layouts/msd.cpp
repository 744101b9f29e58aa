// Medical Segmentation Decathlon layout: dataset.json lists the cases, e.g. Task07_Pancreas:
//   {"name": "Pancreas", "modality": {"0": "CT"}, "labels": {"0": "background", "1": "pancreas", "2": "cancer"},
//    "numTraining": 281, "training": [{"image": "./imagesTr/pancreas_290.nii.gz", "label": "./labelsTr/..."}],
//    "test": ["./imagesTs/pancreas_309.nii.gz", ...]}
// Only listed files are read, so the macOS "._pancreas_001.nii.gz" files shipped in the archives never matter.
// Multi-modal tasks (e.g. BraTS) keep all channels in one 4D file: one path per case.
#include <filesystem>

#include "medssl/core/error.h"
#include "medssl/core/log.h"
#include "medssl/data/layouts/dataset_index.h"
#include "medssl/data/layouts/header_checks.h"
#include "medssl/data/layouts/layout_common.h"

namespace medssl::data {
namespace {
using layout::Json;

std::map<int, std::string> read_msd_labels(const Json& labels, const std::string& file) {
  if (!labels.is_object())
    fail("{}: 'labels' must be an object like {{\"0\": \"background\"}}, found {}", file,
         layout::json_type_name(labels));
  std::map<int, std::string> out;
  for (auto it = labels.begin(); it != labels.end(); ++it) {
    int value = layout::parse_index_key(it.key(), "'labels'", file);
    out[value] = layout::require_string(it.value(), "'labels' entry \"" + it.key() + "\"", file);
  }
  check(!out.empty(), "{}: 'labels' is empty", file);
  return out;
}

/// An image path listed in dataset.json, resolved and checked to exist.
std::string listed_file(const std::string& root, const Json& value, const std::string& what, const std::string& file) {
  std::string listed = layout::require_string(value, what, file);
  check(!listed.empty(), "{}: {} is an empty path", file, what);
  std::string path = layout::resolve_listed_path(root, listed);
  if (!layout::is_regular_file(path)) fail("{}: {} '{}' does not exist (looked for {})", file, what, listed, path);
  return path;
}

}  // namespace

DatasetIndex read_msd(const std::string& root_arg, const OpenOptions& options) {
  DatasetIndex index;
  index.root = layout::absolute_path(root_arg);
  index.layout = "msd";
  layout::require_folder(index.root, "MSD data set folder");
  const std::string file = index.root + "/dataset.json";
  check(layout::is_regular_file(file), "MSD data set '{}' has no dataset.json", index.root);
  const Json json = layout::read_json_object(file);

  auto name_it = json.find("name");
  index.name = name_it != json.end() ? layout::require_string(*name_it, "'name'", file)
                                     : std::filesystem::path(index.root).filename().string();
  index.channel_names = layout::read_indexed_names(layout::require_key(json, "modality", file), "modality", file);
  check(!index.channel_names.empty(), "{}: 'modality' is empty (expected e.g. {{\"0\": \"CT\"}})", file);
  index.labels = read_msd_labels(layout::require_key(json, "labels", file), file);

  const Json& training = layout::require_key(json, "training", file);
  if (!training.is_array()) fail("{}: 'training' must be an array, found {}", file, layout::json_type_name(training));
  for (size_t i = 0; i < training.size(); ++i) {
    const Json& entry = training[i];
    const std::string where = fmt::format("training[{}]", i);
    if (!entry.is_object())
      fail("{}: {} must be an object with \"image\" and \"label\", found {}", file, where,
           layout::json_type_name(entry));
    CaseRecord record;
    record.images.push_back(
        listed_file(index.root, layout::require_key(entry, "image", file + ": " + where), where + ".image", file));
    record.label =
        listed_file(index.root, layout::require_key(entry, "label", file + ": " + where), where + ".label", file);
    record.id = layout::case_stem(record.images.front());
    index.training.push_back(std::move(record));
  }

  auto test_it = json.find("test");
  if (test_it != json.end()) {
    if (!test_it->is_array()) fail("{}: 'test' must be an array, found {}", file, layout::json_type_name(*test_it));
    for (size_t i = 0; i < test_it->size(); ++i) {
      const Json& entry = (*test_it)[i];
      const std::string where = fmt::format("test[{}]", i);
      // The MSD lists plain strings; derived data sets sometimes use {"image": ...} objects like "training".
      const Json& image = entry.is_object() ? layout::require_key(entry, "image", file + ": " + where) : entry;
      CaseRecord record;
      record.images.push_back(listed_file(index.root, image, where, file));
      record.id = layout::case_stem(record.images.front());
      index.test.push_back(std::move(record));
    }
  }
  check(!index.training.empty() || !index.test.empty(), "{}: 'training' and 'test' list no cases", file);

  auto num_training = json.find("numTraining");
  if (num_training != json.end()) {
    int declared = layout::require_int(*num_training, "'numTraining'", file);
    if (declared != static_cast<int>(index.training.size()))
      log::warn("{}: numTraining is {} but 'training' lists {} case(s); using the list", file, declared,
                index.training.size());
  }

  // One image type for the whole set: the ending of the first listed image, every other must agree.
  const CaseRecord& first = index.training.empty() ? index.test.front() : index.training.front();
  index.file_ending = layout::image_file_ending(first.images.front());
  index.spatial_dims = layout::spatial_dims_for_ending(index.file_ending, first.images.front());
  for (const auto* group : {&index.training, &index.test})
    for (const auto& record : *group)
      for (const auto* path : {&record.images.front(), &record.label}) {
        if (path->empty()) continue;
        int dims = layout::spatial_dims_for_ending(layout::image_file_ending(*path), *path);
        if (dims != index.spatial_dims)
          fail("{}: '{}' is a {}D image type but '{}' is {}D; a data set cannot mix them", file, *path, dims,
               first.images.front(), index.spatial_dims);
      }

  layout::check_unique_case_ids(index, file);
  if (options.check_headers) layout::check_index_headers(index);
  return index;
}

}  // namespace medssl::data
