#pragma once
// Synthetic data sets written in the exact on-disk formats of the real ones, so that the same readers serve both.
// They are medssl's embedded default (make demo) and its test data. How they are generated: docs/synthetic-data.md.
#include <cstdint>
#include <string>

namespace medssl::synth {

struct Ct3dOptions {
  std::string out;       ///< output folder (created); becomes an MSD task folder
  int cases = 20;        ///< labelled cases (imagesTr + labelsTr)
  int unlabelled = 0;    ///< image-only cases for pretraining (listed under "test" and written to imagesTs)
  int size = 64;         ///< in-plane size (H = W); depth is about size * 3/4 (anisotropic spacing)
  uint64_t seed = 0;
};
/// Writes an MSD-layout abdominal CT phantom data set ("Task07_Pancreas"-like: labels 0 background, 1 pancreas,
/// 2 tumour; int16 HU images, uint8 labels, .nii.gz, dataset.json). Deterministic for a seed.
void write_ct3d(const Ct3dOptions& options);

struct FundusOptions {
  std::string out;     ///< output folder (created); becomes an APTOS 2019 folder
  int images = 100;
  int size = 256;      ///< nominal side; images vary in size around it like the real data set
  uint64_t seed = 0;
};
/// Writes an APTOS-2019-layout fundus data set: train.csv (id_code,diagnosis) + train_images/<id_code>.png, grades 0-4
/// determined by lesion count and kind. Deterministic for a seed.
void write_fundus(const FundusOptions& options);

}  // namespace medssl::synth
