#pragma once
// The small data sets on disk that the layout fuzz targets point their fuzzed dataset.json / train.csv at, made by
// the synth module (so the seeds list files that exist and the fuzzer starts from inputs that read successfully).
// Shared by the targets and by fuzz_make_seeds.
#include <string>

namespace medssl::fuzz {

/// An MSD data set (2 labelled + 1 unlabelled 16^3 CT phantoms) in `dir`; its dataset.json is a seed.
void write_msd_fixture(const std::string& dir);

/// An nnU-Net v2 raw data set in `dir` with 3D cases (case_000, case_001; .nii.gz from the MSD fixture in
/// `msd_dir`) and 2D cases (pic_000, pic_001; .png) side by side, so both file endings can be reached.
void write_nnunet_fixture(const std::string& dir, const std::string& msd_dir);
/// The dataset.json of write_nnunet_fixture for a file ending (".nii.gz" or ".png").
std::string nnunet_dataset_json(const std::string& file_ending);

/// An APTOS 2019 data set (6 fundus pictures of 32 px) in `dir`; its train.csv is a seed.
void write_aptos_fixture(const std::string& dir);

}  // namespace medssl::fuzz
