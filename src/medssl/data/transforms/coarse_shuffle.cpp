#include "medssl/data/transforms/coarse_shuffle.h"

#include <numeric>

#include "medssl/core/error.h"
#include "medssl/data/volume/volume.h"

namespace medssl {

torch::Tensor coarse_shuffle(const torch::Tensor& data, const std::vector<SpatialBox>& boxes, Rng& rng) {
  spatial_shape(data, "coarse_shuffle");
  torch::Tensor out = data.clone(at::MemoryFormat::Contiguous);
  for (const auto& box : boxes) {
    auto region = box_view(out, box);
    for (int64_t c = 0; c < region.size(0); ++c) {
      auto channel = region[c];
      const auto values = channel.reshape({-1}).clone();
      std::vector<int64_t> order(static_cast<size_t>(values.numel()));
      std::iota(order.begin(), order.end(), int64_t{0});
      rng.shuffle(order);
      auto index = torch::from_blob(order.data(), {static_cast<int64_t>(order.size())}, torch::kInt64).clone();
      channel.copy_(values.index_select(0, index).view(channel.sizes()));
    }
  }
  return out;
}

torch::Tensor random_coarse_shuffle(const torch::Tensor& data, const CoarseShuffleOptions& options, Rng& rng,
                                    std::vector<SpatialBox>* boxes_out) {
  check(options.prob >= 0.0 && options.prob <= 1.0, "coarse_shuffle: prob must be in [0, 1], got {}", options.prob);
  if (boxes_out) boxes_out->clear();
  if (!rng.bernoulli(options.prob)) return data.clone(at::MemoryFormat::Contiguous);
  auto boxes = sample_coarse_holes(spatial_shape(data, "coarse_shuffle"), options.holes, rng);
  auto out = coarse_shuffle(data, boxes, rng);
  if (boxes_out) *boxes_out = std::move(boxes);
  return out;
}

}  // namespace medssl
