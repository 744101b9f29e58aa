// Numerical faults in input data (docs/reliability.md): NaN or inf voxels are an error naming the file, an empty
// label map is a valid case (all background), and a label map holding NaN is named too.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>

#include "medssl/config/config.h"
#include "medssl/data/cache/prepare.h"
#include "medssl/data/layouts/dataset_index.h"
#include "medssl/data/synth/synth.h"
#include "medssl/io/nifti.h"
#include "testkit/testkit.h"

using namespace medssl;
namespace fs = std::filesystem;

namespace {

/// A 3-case synthetic MSD data set; returns its index.
data::DatasetIndex small_dataset(const testkit::TempDir& dir) {
  synth::Ct3dOptions o;
  o.out = dir.file("ct");
  o.cases = 3;
  o.size = 16;
  o.seed = 3;
  synth::write_ct3d(o);
  return data::open_dataset(o.out);
}

/// Rewrites `path` with `value` at voxel 5 (as float32, so NaN and inf can be stored).
void poison(const std::string& path, float value) {
  io::ImageData image = io::read_nifti(path, {/*to_ras=*/false});
  image.data[5] = value;
  io::write_nifti(path, image);
}

std::string prepare_error(const data::DatasetIndex& index, const std::string& out) {
  return testkit::error_of([&] { cache::prepare_cache(index.root, out, config::load("", cache::prepare_schema())); });
}

}  // namespace

TEST(NumericalFaults, NanAndInfVoxelsAreReportedWithTheFile) {
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    testkit::TempDir dir;
    const auto index = small_dataset(dir);
    const std::string image = index.training[1].images[0];
    poison(image, bad);
    const std::string msg = prepare_error(index, dir.file("cache"));
    EXPECT_NE(msg.find(image), std::string::npos) << msg;
    EXPECT_NE(msg.find("NaN or inf"), std::string::npos) << msg;
    EXPECT_NE(msg.find("1 of"), std::string::npos) << "the message counts the bad voxels: " << msg;
  }
}

TEST(NumericalFaults, EmptyLabelMapIsAllBackgroundAndNanLabelIsNamed) {
  testkit::TempDir dir;
  const auto index = small_dataset(dir);
  io::ImageData label = io::read_nifti(index.training[0].label, {/*to_ras=*/false});
  std::fill(label.data.begin(), label.data.end(), 0.f);
  io::NiftiWriteOptions u8;
  u8.dtype = io::DType::uint8;
  io::write_nifti(index.training[0].label, label, u8);
  EXPECT_EQ(prepare_error(index, dir.file("cache")), "");
  const cache::Cache cache = cache::open_cache(dir.file("cache"));
  bool found = false;
  for (size_t i = 0; i < cache.cases.size(); ++i)
    if (cache.cases[i].id == index.training[0].id) {
      EXPECT_EQ(cache.load_label(i).max().item<int64_t>(), 0);
      found = true;
    }
  EXPECT_TRUE(found);

  poison(index.training[2].label, std::numeric_limits<float>::quiet_NaN());
  const std::string msg = prepare_error(index, dir.file("cache2"));
  EXPECT_NE(msg.find(index.training[2].label), std::string::npos) << msg;
}
