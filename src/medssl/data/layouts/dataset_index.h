#pragma once
// The one in-memory description of a data set on disk, whatever its layout. Readers for the Medical Segmentation
// Decathlon, nnU-Net v2 raw, APTOS 2019 (CSV + images) and plain folders all produce a DatasetIndex; everything
// downstream (prepare, pretraining, finetuning, the study) only sees this.
#include <map>
#include <string>
#include <vector>

namespace medssl::data {

struct CaseRecord {
  std::string id;                   ///< case identifier, e.g. "pancreas_001" or an APTOS id_code
  std::vector<std::string> images;  ///< absolute paths, one per channel (MSD 4D files: one path holding all channels)
  std::string label;                ///< absolute path of the label map ("" if none)
  int grade = -1;                   ///< classification target (APTOS diagnosis 0..4), -1 if none
};

struct DatasetIndex {
  std::string root;    ///< absolute path of the data set folder
  std::string layout;  ///< "msd", "nnunet", "aptos" or "folder"
  std::string name;
  int spatial_dims = 3;                       ///< 3 for NIfTI volumes, 2 for pictures
  std::vector<std::string> channel_names;     ///< MSD "modality" / nnU-Net "channel_names", in channel order
  std::map<int, std::string> labels;          ///< label value -> name (segmentation) or grade -> name
  std::vector<CaseRecord> training;           ///< labelled cases
  std::vector<CaseRecord> test;               ///< MSD "test" / imagesTs: image only
  std::vector<CaseRecord> unlabelled;         ///< image-only cases usable for pretraining
  std::string file_ending;                    ///< ".nii.gz", ".png", ...

  int num_classes() const { return labels.empty() ? 0 : labels.rbegin()->first + 1; }
  int num_channels() const { return channel_names.empty() ? 1 : static_cast<int>(channel_names.size()); }
  /// Every image path usable for pretraining: training + test + unlabelled images.
  std::vector<std::string> all_images() const;
};

struct OpenOptions {
  /// Check every listed file exists (cheap) and, if `check_headers`, that image and label headers agree in shape and
  /// affine and that label values are in `labels` (reads label data; slower).
  bool check_headers = false;
};

/// Detects the layout of `path` and reads it: a folder with dataset.json (MSD if it has "training" with
/// image/label entries, nnU-Net if it has "channel_names"), a folder with train.csv (APTOS), else a plain folder of
/// NIfTI or picture files. Throws medssl::Error naming the file and the problem.
DatasetIndex open_dataset(const std::string& path, const OpenOptions& options = {});

DatasetIndex read_msd(const std::string& root, const OpenOptions& options = {});
DatasetIndex read_nnunet(const std::string& root, const OpenOptions& options = {});
DatasetIndex read_aptos(const std::string& root, const OpenOptions& options = {});
DatasetIndex read_image_folder(const std::string& root, const OpenOptions& options = {});

}  // namespace medssl::data
