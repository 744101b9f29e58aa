// libFuzzer target: the MSD and nnU-Net v2 dataset.json readers. The input is a dataset.json; it is written into two
// small data sets on disk (an MSD one and an nnU-Net one, fuzz_fixtures.h), each opened with open_dataset, which picks
// the layout from the JSON, with full header checks (image/label geometry, label values).
#include "fuzz_fixtures.h"
#include "fuzz_support.h"
#include "medssl/data/layouts/dataset_index.h"

namespace {
std::string g_msd, g_nnunet;
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  medssl::fuzz::init_target();
  g_msd = medssl::fuzz::scratch_file("msd");
  g_nnunet = medssl::fuzz::scratch_file("nnunet");
  medssl::fuzz::write_msd_fixture(g_msd);
  medssl::fuzz::write_nnunet_fixture(g_nnunet, g_msd);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace medssl;
  const std::string_view json(reinterpret_cast<const char*>(data), size);
  for (const std::string* root : {&g_msd, &g_nnunet}) {
    fuzz::write_bytes(*root + "/dataset.json", json);
    fuzz::run_one([&] {
      data::OpenOptions options;
      options.check_headers = true;
      const data::DatasetIndex index = data::open_dataset(*root, options);
      fuzz::require(!index.training.empty() || !index.test.empty(), "an accepted data set has cases");
      fuzz::require(index.spatial_dims == 2 || index.spatial_dims == 3, "2 or 3 spatial dims");
      for (const auto& c : index.training) fuzz::require(!c.images.empty() && !c.id.empty(), "cases have images");
    });
  }
  return 0;
}
