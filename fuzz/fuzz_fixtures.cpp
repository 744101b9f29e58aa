#include "fuzz_fixtures.h"

#include <algorithm>
#include <filesystem>
#include <vector>

#include "medssl/core/atomic_file.h"
#include "medssl/data/synth/synth.h"
#include "medssl/io/image2d.h"

namespace medssl::fuzz {
namespace fs = std::filesystem;

void write_msd_fixture(const std::string& dir) {
  synth::Ct3dOptions o;
  o.out = dir;
  o.cases = 2;
  o.unlabelled = 1;
  o.size = 16;
  o.seed = 1;
  synth::write_ct3d(o);
}

void write_nnunet_fixture(const std::string& dir, const std::string& msd_dir) {
  for (const char* sub : {"imagesTr", "labelsTr", "imagesTs"}) make_dirs(dir + "/" + sub);
  std::vector<std::string> images, labels, tests;
  for (const auto& e : fs::directory_iterator(msd_dir + "/imagesTr")) images.push_back(e.path().string());
  for (const auto& e : fs::directory_iterator(msd_dir + "/labelsTr")) labels.push_back(e.path().string());
  for (const auto& e : fs::directory_iterator(msd_dir + "/imagesTs")) tests.push_back(e.path().string());
  std::sort(images.begin(), images.end());
  std::sort(labels.begin(), labels.end());
  for (size_t i = 0; i < images.size() && i < labels.size(); ++i) {
    const std::string id = "case_00" + std::to_string(i);
    fs::copy_file(images[i], dir + "/imagesTr/" + id + "_0000.nii.gz", fs::copy_options::overwrite_existing);
    fs::copy_file(labels[i], dir + "/labelsTr/" + id + ".nii.gz", fs::copy_options::overwrite_existing);
  }
  if (!tests.empty())
    fs::copy_file(tests.front(), dir + "/imagesTs/case_100_0000.nii.gz", fs::copy_options::overwrite_existing);
  for (int i = 0; i < 2; ++i) {
    io::ImageData picture, label;
    picture.shape = label.shape = {6, 5};
    picture.disk_dtype = label.disk_dtype = io::DType::uint8;
    for (int p = 0; p < 30; ++p) {
      picture.data.push_back(static_cast<float>((p * 37 + i * 11) % 256));
      label.data.push_back(static_cast<float>((p / 5 + i) % 3));
    }
    const std::string id = "pic_00" + std::to_string(i);
    io::write_image2d(dir + "/imagesTr/" + id + "_0000.png", picture);
    io::write_image2d(dir + "/labelsTr/" + id + ".png", label);
  }
  write_file_atomic(dir + "/dataset.json", nnunet_dataset_json(".nii.gz"));
}

std::string nnunet_dataset_json(const std::string& file_ending) {
  return "{\n  \"name\": \"Fuzz\",\n  \"channel_names\": {\"0\": \"CT\"},\n"
         "  \"labels\": {\"background\": 0, \"organ\": 1, \"tumour\": 2},\n  \"numTraining\": 2,\n"
         "  \"file_ending\": \"" + file_ending + "\"\n}\n";
}

void write_aptos_fixture(const std::string& dir) {
  synth::FundusOptions o;
  o.out = dir;
  o.images = 6;
  o.size = 32;
  o.seed = 1;
  synth::write_fundus(o);
}

}  // namespace medssl::fuzz
