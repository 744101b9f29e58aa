#pragma once
// `medssl predict`: apply a finetuned model (DIR/model.json + model.pt) to new images on disk.
//
// Segmentation: each input volume (NIfTI; several files = channels) is preprocessed exactly as the training data was
// (the model's recorded `prepare` settings: resampling, intensity window/normalisation, foreground crop, size, and the
// cache's storage precision), inferred with sliding windows of the training patch size (a 2D model slice by slice
// along its slice axis), and the class scores are mapped back onto the input's own voxel grid through the affines
// (data/transforms/resample_to_grid.h), so the written label map (uint8 NIfTI) has the input's shape, voxel order and
// affine, and lines up with it in any viewer. Voxels the preprocessing cropped away are background.
// Classification: each input (picture or volume) gets its predicted grade and class scores, written as CSV.
//
// Inputs: one file, or a folder. In a folder every .nii/.nii.gz is a case, except that files named like nnU-Net's
// imagesTs (CASE_0000.nii.gz, CASE_0001.nii.gz, ...) are grouped into one multi-channel case CASE. Pictures (.png,
// .jpg, .jpeg, .bmp) are cases for classification models.
// Outputs: segmentation -> --out FILE for one input, else a folder with CASE.nii.gz per case (CASE.nii for .nii
// inputs); classification -> a CSV (FILE.csv, or FOLDER/predictions.csv). Every file is written atomically; cases
// whose output already exists are skipped unless `overwrite` (so a killed batch resumes).
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace medssl::finetune {

struct PredictRequest {
  std::string model_dir;
  std::string input;   ///< a file or a folder
  std::string output;  ///< a file (one input) or a folder
  std::string blend = "gaussian";  ///< sliding-window blending (MONAI / nnU-Net use gaussian for inference)
  double overlap = -1;             ///< < 0: the model's recorded sw_overlap
  int64_t batch_size = 4;          ///< windows / slices per forward pass
  std::string device = "cpu";
  bool overwrite = false;
  bool strict_contract = false;    ///< a difference from the model's preprocessing contract is an error (predict_contract.h)
};

/// One input case: its id and its files (channels in order).
struct PredictCase {
  std::string id;
  std::vector<std::string> files;
};

/// The cases of `input` (a file or a folder), following the naming rules above; an error naming the path when it
/// does not exist or holds no readable image.
std::vector<PredictCase> list_predict_cases(const std::string& input);

/// Runs the prediction; returns {"model", "task", "cases": [{"id", "output", ...}]} (also printed by the CLI).
nlohmann::json run_prediction(const PredictRequest& request);

}  // namespace medssl::finetune
