// Layout detection and the layout-independent parts of DatasetIndex.
#include <filesystem>

#include "medssl/core/error.h"
#include "medssl/data/layouts/dataset_index.h"
#include "medssl/data/layouts/layout_common.h"

namespace medssl::data {

DatasetIndex open_dataset(const std::string& path, const OpenOptions& options) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) fail("data set path '{}' does not exist", path);
  std::string root = path;
  // Pointing at the data set's dataset.json or train.csv is as good as pointing at its folder.
  if (!layout::is_directory(root)) {
    const std::string name = std::filesystem::path(root).filename().string();
    check(name == "dataset.json" || name == "train.csv",
          "data set path '{}' is a file; give the data set folder (or its dataset.json / train.csv)", path);
    root = layout::absolute_path(root);
    root = std::filesystem::path(root).parent_path().string();
  }

  const std::string json_path = root + "/dataset.json";
  if (layout::is_regular_file(json_path)) {
    const layout::Json json = layout::read_json_object(json_path);
    if (json.contains("channel_names")) return read_nnunet(root, options);
    if (json.contains("training")) return read_msd(root, options);
    fail("{}: neither an nnU-Net dataset.json (no 'channel_names') nor an MSD one (no 'training')", json_path);
  }
  if (layout::is_regular_file(root + "/train.csv")) return read_aptos(root, options);
  return read_image_folder(root, options);
}

std::vector<std::string> DatasetIndex::all_images() const {
  std::vector<std::string> paths;
  for (const auto* group : {&training, &test, &unlabelled})
    for (const auto& record : *group) paths.insert(paths.end(), record.images.begin(), record.images.end());
  return paths;
}

}  // namespace medssl::data
