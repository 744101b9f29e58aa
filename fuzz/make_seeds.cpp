// fuzz_make_seeds OUT_DIR SOURCE_DIR: writes the seed corpora of the fuzz targets, one folder per target, from the
// synth module and medssl's own writers (nothing binary is committed). The torch.save seeds come from Python
// (make_torch_save_seeds.py), since torch.save itself is the reference for that format.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "fuzz_fixtures.h"
#include "medssl/core/atomic_file.h"
#include "medssl/core/error.h"
#include "medssl/io/image2d.h"
#include "medssl/io/nifti.h"

namespace {
namespace fs = std::filesystem;
using namespace medssl;

std::string bytes_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

io::ImageData volume(int64_t d, int64_t h, int64_t w, int64_t channels) {
  io::ImageData image;
  image.shape = {d, h, w};
  image.channels = channels;
  for (int64_t i = 0; i < d * h * w * channels; ++i) image.data.push_back(static_cast<float>((i * 7919) % 251) - 60);
  image.affine[0][0] = 0.8;
  image.affine[1][1] = -1.25;
  image.affine[2][2] = 2.5;
  image.affine[0][3] = 10;
  return image;
}

void nifti_seeds(const std::string& out, const std::string& scratch) {
  int n = 0;
  auto seed = [&](char mode, const std::string& bytes) {
    write_file_atomic(out + "/seed_" + std::to_string(n++), std::string(1, mode) + bytes);
  };
  struct Variant {
    io::DType dtype;
    int version;
    double slope;
    int64_t channels;
  };
  const Variant variants[] = {{io::DType::int16, 1, 1, 1},   {io::DType::uint8, 1, 1, 1}, {io::DType::float32, 2, 1, 1},
                              {io::DType::float64, 1, 1, 1}, {io::DType::int16, 1, 0.5, 1}, {io::DType::uint16, 2, 1, 2},
                              {io::DType::int32, 1, 1, 1},   {io::DType::int8, 2, 2, 1}};
  for (const auto& v : variants) {
    io::NiftiWriteOptions options;
    options.dtype = v.dtype;
    options.version = v.version;
    options.scl_slope = v.slope;
    io::ImageData image = volume(3, 4, 5, v.channels);
    if (v.dtype == io::DType::uint8 || v.dtype == io::DType::uint16)
      for (auto& x : image.data) x = std::abs(x);
    if (v.dtype == io::DType::int8)
      for (auto& x : image.data) x = std::fmod(x, 60.f);
    const std::string path = scratch + "/v.nii";
    io::write_nifti(path, image, options);
    seed(0, bytes_of(path));  // plain .nii
    seed(1, bytes_of(path));  // gzip-wrapped by the target (mode bit 0)
  }
  // A synthetic CT phantom and its label map as written (gzip bytes as they are on disk).
  for (const char* sub : {"/msd/imagesTr", "/msd/labelsTr"})
    for (const auto& e : fs::directory_iterator(scratch + sub)) {
      seed(0, bytes_of(e.path().string()));
      break;
    }
}

void picture_seeds(const std::string& out, const std::string& scratch) {
  int n = 0;
  auto picture = [&](int64_t h, int64_t w, int64_t channels, io::DType dtype, const std::string& ext) {
    io::ImageData image;
    image.shape = {h, w};
    image.channels = channels;
    image.disk_dtype = dtype;
    for (int64_t i = 0; i < h * w * channels; ++i)
      image.data.push_back(static_cast<float>((i * 97) % (dtype == io::DType::uint16 ? 65536 : 256)));
    const std::string path = scratch + "/p" + ext;
    io::write_image2d(path, image, 80);
    write_file_atomic(out + "/seed_" + std::to_string(n++) + ext, bytes_of(path));
  };
  picture(8, 6, 1, io::DType::uint8, ".png");
  picture(5, 7, 3, io::DType::uint8, ".png");
  picture(6, 6, 1, io::DType::uint16, ".png");
  picture(4, 9, 3, io::DType::uint16, ".png");
  picture(16, 16, 3, io::DType::uint8, ".jpg");
  picture(8, 8, 1, io::DType::uint8, ".jpg");
  for (const auto& e : fs::directory_iterator(scratch + "/aptos/train_images")) {  // a synthetic fundus photograph
    write_file_atomic(out + "/fundus.png", bytes_of(e.path().string()));
    break;
  }
}

void layout_seeds(const std::string& json_out, const std::string& csv_out, const std::string& scratch) {
  write_file_atomic(json_out + "/msd.json", bytes_of(scratch + "/msd/dataset.json"));
  write_file_atomic(json_out + "/nnunet_3d.json", fuzz::nnunet_dataset_json(".nii.gz"));
  write_file_atomic(json_out + "/nnunet_2d.json", fuzz::nnunet_dataset_json(".png"));
  const std::string train = bytes_of(scratch + "/aptos/train.csv");
  write_file_atomic(csv_out + "/train.csv", train);
  std::string ids;  // the same ids as a test.csv after a NUL
  std::istringstream lines(train);
  std::string line;
  std::getline(lines, line);
  while (std::getline(lines, line)) ids += line.substr(0, line.find(',')) + "\n";
  write_file_atomic(csv_out + "/train_and_test.csv", train + std::string(1, '\0') + "id_code\n" + ids);
  write_file_atomic(csv_out + "/quoted.csv",
                    "\xEF\xBB\xBF" "id_code,diagnosis,\"note, with comma\"\r\n\"a\"\"b\",2,\"multi\nline\"\r\n\r\nc,0,x\r\n");
}

void config_seeds(const std::string& out, const std::string& source) {
  for (const auto& e : fs::directory_iterator(source + "/configs/studies"))
    write_file_atomic(out + "/" + e.path().filename().string(), bytes_of(e.path().string()));
  write_file_atomic(out + "/every_type.json",
                    R"({"flag": true, "count": 7, "rate": 0.25, "mode": "slow", "sizes": [0, 4], "weights": [0.5, 2],
"names": ["a"], "nested": {"x": {"y": [1, 2]}}, "path": "/tmp/x", "extra": null, "legacy": 1})");
  write_file_atomic(out + "/with_sets.json", std::string(R"({"path": "p", "methods": ["baseline"], "finetune_config": {}})") +
                                                 '\0' + "count=5" + '\0' + "nested.a.b=[1,2]" + '\0' + "mode=fast");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: fuzz_make_seeds OUT_DIR SOURCE_DIR\n");
    return 2;
  }
  try {
    const std::string out = argv[1], source = argv[2];
    const std::string scratch = out + "/.scratch";
    fs::remove_all(scratch);
    make_dirs(scratch);
    fuzz::write_msd_fixture(scratch + "/msd");
    fuzz::write_aptos_fixture(scratch + "/aptos");
    for (const char* target : {"nifti", "image2d", "dataset_json", "aptos_csv", "config"}) {
      fs::remove_all(out + "/" + target);
      make_dirs(out + "/" + target);
    }
    nifti_seeds(out + "/nifti", scratch);
    picture_seeds(out + "/image2d", scratch);
    layout_seeds(out + "/dataset_json", out + "/aptos_csv", scratch);
    config_seeds(out + "/config", source);
    fs::remove_all(scratch);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz_make_seeds: %s\n", e.what());
    return 1;
  }
  return 0;
}
