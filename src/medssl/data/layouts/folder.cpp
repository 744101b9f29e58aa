// A plain folder of images (unlabelled, e.g. for pretraining): every NIfTI or picture file directly inside it,
// sorted by name. Hidden files, including macOS "._x.nii.gz" resource forks, and other file types are skipped.
#include <filesystem>

#include "medssl/core/error.h"
#include "medssl/data/layouts/dataset_index.h"
#include "medssl/data/layouts/header_checks.h"
#include "medssl/data/layouts/layout_common.h"

namespace medssl::data {

DatasetIndex read_image_folder(const std::string& root_arg, const OpenOptions& options) {
  DatasetIndex index;
  index.root = layout::absolute_path(root_arg);
  index.layout = "folder";
  layout::require_folder(index.root, "image folder");
  index.name = std::filesystem::path(index.root).filename().string();

  std::string first_file;
  bool mixed_endings = false;
  for (const auto& name : layout::list_visible_files(index.root)) {
    const std::string ending = layout::image_file_ending(name);
    if (ending.empty()) continue;  // README, CSV, ...: not images
    const int dims = layout::spatial_dims_for_ending(ending, index.root + "/" + name);
    if (first_file.empty()) {
      first_file = name;
      index.spatial_dims = dims;
      index.file_ending = ending;
    } else if (dims != index.spatial_dims) {
      fail("image folder '{}' mixes NIfTI volumes and 2D pictures ('{}' and '{}'); keep one kind per folder",
           index.root, first_file, name);
    } else if (ending != index.file_ending) {
      mixed_endings = true;
    }
    CaseRecord record;
    record.id = layout::case_stem(name);
    record.images.push_back(index.root + "/" + name);
    index.unlabelled.push_back(std::move(record));
  }
  check(!index.unlabelled.empty(),
        "image folder '{}' holds no images (looked for .nii, .nii.gz, .png, .jpg, .jpeg, .bmp; hidden files are "
        "skipped)",
        index.root);
  if (mixed_endings) index.file_ending.clear();  // e.g. .png and .jpg together: no single ending

  layout::check_unique_case_ids(index, "image folder '" + index.root + "'");
  if (options.check_headers) layout::check_index_headers(index);
  return index;
}

}  // namespace medssl::data
