// vit_masked: the MONAI self-supervised tutorial's pretraining (spec: design/reference/iou_and_monai_ssl.md B.2-B.5)
// as a pretext task.
//
// Batches (make_batch), per image of the batch (B.2 steps 6-9):
//   two crops of side `crop_size` at independent uniform positions (RandSpatialCropSamples num_samples 2): each crop
//   is one sample, so a batch of N images holds 2N samples (batch_size counts samples: 8 = the tutorial's 4 volumes);
//   each clean crop x is copied twice and each copy corrupted independently by the chain
//     OneOf(1/2 each){ inpainting: coarse dropout, 6 holes of 5..32 voxels per axis, filled with U[min, max) noise;
//                      outpainting: coarse dropout, 6 holes of 20..64 voxels, everything OUTSIDE them noise }
//     then coarse shuffle with p 0.8: 10 boxes of 8 voxels per axis, voxels permuted inside each box
//   (data/transforms/coarse_dropout.h, coarse_shuffle.h; sizes are in voxels and clipped to the crop, as MONAI does).
//   Tensors: "view1", "view2" (the two corruptions, (2N, C, crop...)), "target1" = "target2" = the clean crops x:
//   both views come from the SAME crop (the tutorial's CopyItemsd copies the clean crop to gt_image and image_2), so
//   both targets are the same tensor; the loss compares only view 1's reconstruction with it (B.4).
// Network (build_model): MONAI's ViTAutoEnc registered as "encoder" (models/vit_autoenc.h), img_size = crop,
//   patch `vit_patch_size` (16), hidden_size 768, mlp_dim 3072, vit_num_layers 12, num_heads 12, qkv_bias false,
//   out_channels = the image channels. Its weights are saved as encoder.* with MONAI's names (patch_embedding.*,
//   blocks.*, norm.*, conv3d_transpose*); `medssl finetune` with prediction_architecture unetr copies the ViT part.
// Loss (step): total = l1 + cl * l1 with l1 = L1(r1, x), cl = NT-Xent(flat r1, flat r2, temperature 0.05)
//   (vit_masked.h; losses/nt_xent.h is MONAI's ContrastiveLoss). Metrics "l1" and "contrastive"; the monitored
//   metric is val_l1, the tutorial's best-model criterion. Validation batches use the same random corruptions (the
//   tutorial validates with its training transforms), drawn from the loader's fixed validation stream.
// `faithful`: MONAI's growing hole sizes (coarse_dropout.h, monai_growing_sizes).
#include "medssl/pretext/vit_masked.h"

#include <fmt/ranges.h>

#include "medssl/core/error.h"
#include "medssl/data/transforms/coarse_dropout.h"
#include "medssl/data/transforms/coarse_shuffle.h"
#include "medssl/data/transforms/crop.h"
#include "medssl/losses/nt_xent.h"
#include "medssl/models/vit_autoenc.h"
#include "medssl/pretext/classification_head.h"
#include "medssl/pretext/contrastive_pairs.h"
#include "medssl/pretext/task_factories.h"

namespace medssl::pretext {

namespace {

constexpr const char* kTask = "vit_masked";
constexpr int64_t kReferenceCrop = 96;  // the tutorial's roi (96, 96, 96)

struct VitMaskedSettings {
  int64_t crop = 0;
  int64_t patch = 16, hidden = 768, mlp = 3072, layers = 12, heads = 12;
  double temperature = 0.05;
};

VitMaskedSettings read_settings(const TaskSpec& spec) {
  VitMaskedSettings s;
  s.crop = vit_masked_crop_size(spec);
  s.patch = integer_param(spec, "vit_patch_size", 16, kTask);
  s.hidden = integer_param(spec, "hidden_size", 768, kTask);
  s.mlp = integer_param(spec, "mlp_dim", 3072, kTask);
  s.layers = integer_param(spec, "vit_num_layers", 12, kTask);
  s.heads = integer_param(spec, "num_heads", 12, kTask);
  s.temperature = number_param(spec, "temperature", 0.05, kTask);
  check(s.patch >= 1, "{}: vit_patch_size must be >= 1, got {}", kTask, s.patch);
  int64_t root = 0;
  while ((root + 1) * (root + 1) <= s.patch) ++root;
  check(root * root == s.patch,
        "{}: vit_patch_size {} must be a perfect square (ViTAutoEnc's decoder upsamples twice by its square root; "
        "e.g. 4, 16)", kTask, s.patch);
  check(s.crop % s.patch == 0, "{}: crop_size {} must be a multiple of vit_patch_size {}", kTask, s.crop, s.patch);
  check(s.hidden >= 1 && s.heads >= 1 && s.hidden % s.heads == 0,
        "{}: hidden_size {} must be a positive multiple of num_heads {}", kTask, s.hidden, s.heads);
  check(s.mlp >= 1, "{}: mlp_dim must be >= 1, got {}", kTask, s.mlp);
  check(s.layers >= 1, "{}: vit_num_layers must be >= 1, got {}", kTask, s.layers);
  check(s.temperature > 0, "{}: temperature must be > 0, got {}", kTask, s.temperature);
  return s;
}

class VitMaskedModelImpl : public PretextModelImpl {
 public:
  explicit VitMaskedModelImpl(models::ViTAutoEncOptions options) {
    autoenc = models::ViTAutoEnc(std::move(options));
    encoder = register_module("encoder", autoenc.ptr());
  }
  models::ViTAutoEnc autoenc{nullptr};
};

class VitMaskedTask : public PretextTask {
 public:
  explicit VitMaskedTask(const TaskSpec& spec) : spec_(spec), settings_(read_settings(spec)) {
    inpainting_ = CoarseDropoutOptions::inpainting();
    outpainting_ = CoarseDropoutOptions::outpainting();
    inpainting_.holes.monai_growing_sizes = outpainting_.holes.monai_growing_sizes = spec.faithful;
    shuffle_.holes.monai_growing_sizes = spec.faithful;
  }

  std::string name() const override { return kTask; }

  std::shared_ptr<PretextModelImpl> build_model() const override {
    const auto& s = settings_;
    models::ViTAutoEncOptions o(spec_.in_channels, {s.crop}, {s.patch});
    o.out_channels(spec_.in_channels)
        .hidden_size(s.hidden)
        .mlp_dim(s.mlp)
        .num_layers(s.layers)
        .num_heads(s.heads)
        .spatial_dims(spec_.spatial_dims)
        .qkv_bias(false);
    return std::make_shared<VitMaskedModelImpl>(std::move(o));
  }

  train::Batch make_batch(const std::vector<Sample>& samples, Rng& rng, bool /*training*/) const override {
    std::vector<torch::Tensor> view1, view2, clean;
    for (const auto& sample : samples) {
      const torch::Tensor& image = checked_image(sample, spec_, kTask);
      const std::vector<int64_t> shape(image.sizes().begin() + 1, image.sizes().end());
      const std::vector<int64_t> side(shape.size(), settings_.crop);
      // RandSpatialCropSamples(num_samples 2) draws both crops, then each crop goes through the two chains.
      const SpatialBox first = random_crop_box(shape, side, rng);
      const SpatialBox second = random_crop_box(shape, side, rng);
      for (const SpatialBox* box : {&first, &second}) {
        torch::Tensor x = crop(image, *box);
        view1.push_back(corrupt(x, rng));
        view2.push_back(corrupt(x, rng));
        clean.push_back(std::move(x));
      }
    }
    train::Batch batch;
    batch.tensors["view1"] = torch::stack(view1);
    batch.tensors["view2"] = torch::stack(view2);
    const torch::Tensor target = torch::stack(clean);
    batch.tensors["target1"] = target;
    batch.tensors["target2"] = target;  // the same clean crop: both views are corruptions of it
    batch.size = static_cast<int64_t>(clean.size());
    return batch;
  }

  train::StepOutput step(PretextModelImpl& model, const train::Batch& batch) const override {
    auto& m = dynamic_cast<VitMaskedModelImpl&>(model);
    auto r1 = m.autoenc->forward(batch.at("view1")).reconstruction;
    auto r2 = m.autoenc->forward(batch.at("view2")).reconstruction;
    auto loss = masked_reconstruction_loss(r1, r2, batch.at("target1"), settings_.temperature);
    train::StepOutput out;
    out.loss = loss.total;
    out.metrics["l1"] = loss.l1.item<double>();
    out.metrics["contrastive"] = loss.contrastive.item<double>();
    return out;
  }

  std::string monitor() const override { return "val_l1"; }

 private:
  // OneOf(inpainting, outpainting) with equal weights, then the coarse shuffle (B.2 step 8).
  torch::Tensor corrupt(const torch::Tensor& x, Rng& rng) const {
    const bool inpaint = rng.uniform() < 0.5;
    auto v = random_coarse_dropout(x, inpaint ? inpainting_ : outpainting_, rng);
    return random_coarse_shuffle(v, shuffle_, rng);
  }

  TaskSpec spec_;
  VitMaskedSettings settings_;
  CoarseDropoutOptions inpainting_, outpainting_;
  CoarseShuffleOptions shuffle_;
};

}  // namespace

MaskedReconstructionLoss masked_reconstruction_loss(const torch::Tensor& recon1, const torch::Tensor& recon2,
                                                    const torch::Tensor& target1, double temperature) {
  check(recon1.dim() >= 2 && recon1.size(0) >= 1, "{}: reconstructions must be (B, ...) with B >= 1", kTask);
  check(recon1.sizes() == recon2.sizes() && recon1.sizes() == target1.sizes(),
        "{}: reconstruction 1 [{}], reconstruction 2 [{}] and target [{}] must have equal shapes", kTask,
        fmt::join(recon1.sizes(), ", "), fmt::join(recon2.sizes(), ", "), fmt::join(target1.sizes(), ", "));
  MaskedReconstructionLoss out;
  out.l1 = torch::l1_loss(recon1, target1);
  out.contrastive = losses::nt_xent_loss(recon1.flatten(1), recon2.flatten(1), temperature).loss;
  out.total = out.l1 + out.contrastive * out.l1;
  return out;
}

int64_t vit_masked_crop_size(const TaskSpec& spec) {
  const int64_t crop = integer_param(spec, "crop_size", std::min(spec.data_dim, kReferenceCrop), kTask);
  check(crop >= 1 && crop <= spec.data_dim, "{}: crop_size {} must be in 1..data_dim ({})", kTask, crop, spec.data_dim);
  return crop;
}

nlohmann::json vit_masked_encoder_options(const TaskSpec& spec) {
  const auto s = read_settings(spec);
  const auto per_axis = [&](int64_t v) { return nlohmann::json(std::vector<int64_t>(static_cast<size_t>(spec.spatial_dims), v)); };
  return {{"hidden_size", s.hidden}, {"mlp_dim", s.mlp},         {"num_heads", s.heads},
          {"num_layers", s.layers},  {"patch_size", per_axis(s.patch)}, {"img_size", per_axis(s.crop)},
          {"qkv_bias", false},       {"out_channels", spec.in_channels}, {"deconv_chns", 16}};
}

std::unique_ptr<PretextTask> make_vit_masked_task(const TaskSpec& spec) { return std::make_unique<VitMaskedTask>(spec); }

}  // namespace medssl::pretext
