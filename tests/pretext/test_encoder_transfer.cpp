// The encoder of every Taleb et al. task, 2D and 3D, loads into the downstream networks of `medssl finetune` —
// the segmentation UNet and the classifier — through the same code path (finetune::load_pretrained_encoder on the
// encoder file a pretraining run writes): every "encoder.*" tensor found by name with its shape, none reshaped, none
// left over, the values copied exactly.
#include <gtest/gtest.h>

#include <string>

#include "medssl/finetune/finetune_model.h"
#include "medssl/pretext/task.h"
#include "medssl/weights/state_dict_io.h"
#include "medssl/weights/manifest.h"
#include "testkit/testkit.h"

namespace medssl::pretext {
namespace {

struct Case {
  std::string task;
  int dims;
  int64_t data_dim;
  nlohmann::json params;
};

// Small geometries every task accepts with a 2-level encoder of 4 filters (patches >= 8 voxels per side).
std::vector<Case> cases() {
  std::vector<Case> out;
  for (int dims : {2, 3}) {
    out.push_back({"rotation", dims, 16, {{"top_units", {8, 8}}}});
    out.push_back({"rpl", dims, 24, {{"patches_per_side", 3}, {"top_units", {8, 8}}}});
    out.push_back({"jigsaw", dims, 24, {{"patches_per_side", 3}, {"num_permutations", 4}, {"top_units", {8, 8}}}});
    out.push_back({"exemplar", dims, 16, {{"code_size", 8}}});
    out.push_back({"cpc", dims, dims == 2 ? 40 : 32, {{"patches_per_side", dims == 2 ? 5 : 4}, {"code_size", 8}}});
  }
  return out;
}

// Loads `file` into `target` as `medssl finetune --pretrained` does, and checks the transfer was exact.
void expect_exact_transfer(const finetune::FinetuneModel& target, const std::string& file,
                           const weights::StateDict& saved, const std::string& what) {
  const weights::TransferReport report = finetune::load_pretrained_encoder(target, file);
  EXPECT_EQ(report.pretrained_loaded, report.pretrained_tensors) << what;
  EXPECT_EQ(report.pretrained_loaded, saved.size()) << what << ": every saved encoder tensor has a place";
  EXPECT_TRUE(report.adapted.empty()) << what << ": " << report.summary();
  EXPECT_TRUE(report.skipped.empty()) << what << ": " << report.summary();
  const weights::StateDict loaded = weights::add_prefix(weights::state_dict(target.encoder()), "encoder.");
  for (const auto& [name, tensor] : saved) {
    auto it = loaded.find(name);
    ASSERT_NE(it, loaded.end()) << what << ": " << name;
    EXPECT_TRUE(torch::equal(it->second, tensor)) << what << ": " << name;
  }
}

TEST(PretextEncoderTransfer, EveryTaskLoadsIntoTheSegmentationUNetAndTheClassifier) {
  testkit::TempDir dir;
  for (const Case& c : cases()) {
    const std::string what = c.task + " " + std::to_string(c.dims) + "D";
    TaskSpec spec;
    spec.spatial_dims = c.dims;
    spec.in_channels = 2;
    spec.data_dim = c.data_dim;
    spec.encoder_options = {{"enc_filters", 4}, {"num_layers", 2}, {"variant", "taleb"}, {"dropout", 0.5}};
    spec.params = c.params;
    auto model = make_task(c.task, spec)->build_model();
    ASSERT_NE(model->encoder, nullptr) << what;
    // What pretrain's save_encoder writes: the encoder's parameters and buffers under "encoder.".
    const weights::StateDict saved = weights::add_prefix(weights::state_dict(*model->encoder), "encoder.");
    for (const auto& [name, tensor] : weights::state_dict(*model)) {
      if (name.rfind("encoder.", 0) == 0) EXPECT_TRUE(saved.count(name)) << what << ": " << name;
    }
    const std::string file = dir.file(c.task + std::to_string(c.dims) + "d.pt");
    weights::save_weights(saved, file, nlohmann::json::object());

    finetune::FinetuneModelSpec segmentation;
    segmentation.task = "segmentation";
    segmentation.architecture = c.dims == 3 ? "unet_3d_upconv" : "unet_2d_upconv";
    segmentation.spatial_dims = c.dims;
    segmentation.in_channels = 2;
    segmentation.num_outputs = 3;
    segmentation.encoder_options = spec.encoder_options;
    expect_exact_transfer(finetune::build_finetune_model(segmentation), file, saved, what + " -> UNet");

    finetune::FinetuneModelSpec classification = segmentation;
    classification.task = "classification";
    classification.architecture = "unet_encoder_classifier";
    classification.num_outputs = 5;
    expect_exact_transfer(finetune::build_finetune_model(classification), file, saved, what + " -> classifier");
  }
}

TEST(PretextEncoderTransfer, DenseNetEncoderOf2DTasksLoadsIntoTheDenseNetClassifier) {
  // The reference's fundus configs pretrain DenseNet-121 (encoder_architecture) for the 2D classifier.
  testkit::TempDir dir;
  TaskSpec spec;
  spec.spatial_dims = 2;
  spec.in_channels = 3;
  spec.data_dim = 32;
  spec.encoder = "densenet121";
  spec.params = {{"top_units", {8, 8}}, {"code_size", 8}};
  for (const std::string task : {"rotation", "exemplar"}) {
    auto model = make_task(task, spec)->build_model();
    const weights::StateDict saved = weights::add_prefix(weights::state_dict(*model->encoder), "encoder.");
    const std::string file = dir.file(task + ".pt");
    weights::save_weights(saved, file, nlohmann::json::object());
    finetune::FinetuneModelSpec classification;
    classification.task = "classification";
    classification.architecture = "densenet121_classifier";
    classification.spatial_dims = 2;
    classification.in_channels = 3;
    classification.num_outputs = 5;
    expect_exact_transfer(finetune::build_finetune_model(classification), file, saved, task + " -> DenseNet");
  }
}

}  // namespace
}  // namespace medssl::pretext
