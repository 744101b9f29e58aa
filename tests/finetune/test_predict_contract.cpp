// `medssl predict` and the model's preprocessing contract: a model whose preprocessing does not resample warns (or,
// strict, refuses) volumes whose voxel spacing is far from its training data's; a foreign axis convention is named.
#include <gtest/gtest.h>

#include "medssl/finetune/predict_contract.h"
#include "medssl/weights/manifest.h"
#include "testkit/testkit.h"

using namespace medssl;
using json = nlohmann::json;

namespace {

finetune::ModelDescription description() {
  finetune::ModelDescription d;
  d.spec.task = "segmentation";
  d.spec.architecture = "unet_3d_upconv";
  d.preprocessing = {{"normalize", "minmax"}, {"size", 32}};
  d.data_dim = 32;
  return d;
}

void write_model(const std::string& dir, const json& manifest) {
  weights::save_weights({{"encoder.w", torch::ones({2})}}, dir + "/model.pt", manifest);
}

}  // namespace

TEST(PredictContract, UnresampledModelsNameInputsOfAnotherSpacingAndStrictRefusesThem) {
  testkit::TempDir dir("medssl-predict-contract");
  json manifest = weights::base_manifest("finetune");
  manifest.update(weights::input_contract(3, 1, 32, description().preprocessing));
  manifest["training_data"] = {{"spacing", {2.0, 0.8, 0.8}}};
  write_model(dir.path(), manifest);

  const finetune::PredictContract lenient(dir.path(), description(), false);
  EXPECT_TRUE(lenient.manifest()["target_spacing"].is_null());
  EXPECT_NO_THROW(lenient.check_volume("case_1", {2.1, 0.8, 0.75}));  // within 10 %
  EXPECT_NO_THROW(lenient.check_volume("case_2", {5.0, 0.8, 0.8}));   // a warning only

  const finetune::PredictContract strict(dir.path(), description(), true);
  EXPECT_NO_THROW(strict.check_volume("case_1", {2.1, 0.8, 0.75}));
  const auto msg = testkit::error_of([&] { strict.check_volume("case_2", {5.0, 0.8, 0.8}); });
  EXPECT_NE(msg.find("source_spacing: the weights' [2.0,0.8,0.8]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("case case_2"), std::string::npos) << msg;
  EXPECT_NE(msg.find("--strict-contract"), std::string::npos) << msg;

  // A model that resamples sees every input at its own spacing: nothing to compare.
  manifest["target_spacing"] = {2.0, 0.8, 0.8};
  write_model(dir.path(), manifest);
  EXPECT_NO_THROW(finetune::PredictContract(dir.path(), description(), true).check_volume("case_2", {5.0, 0.8, 0.8}));

  // A manifest with another axis convention is refused up front when strict.
  manifest["axis_convention"] = "LPS, C-W-H-D";
  write_model(dir.path(), manifest);
  const auto axis = testkit::error_of([&] { finetune::PredictContract(dir.path(), description(), true); });
  EXPECT_NE(axis.find("axis_convention: the weights' LPS, C-W-H-D, this run's RAS+, C-D-H-W"), std::string::npos)
      << axis;
}
