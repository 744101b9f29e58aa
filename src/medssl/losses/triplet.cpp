#include "medssl/losses/triplet.h"

#include "medssl/core/error.h"

namespace medssl::losses {

torch::Tensor triplet_distance(const torch::Tensor& x, const torch::Tensor& y, TripletDistance distance) {
  const torch::Tensor squared = (x - y).pow(2);
  return distance == TripletDistance::mean_squared ? squared.mean(-1) : squared.sum(-1);
}

TripletLossOutput triplet_loss(const torch::Tensor& anchor, const torch::Tensor& positive,
                               const torch::Tensor& negative, double margin, TripletDistance distance) {
  check(anchor.dim() == 2 && anchor.size(0) >= 1, "triplet loss: anchor codes must be (B, D) with B >= 1, got {} dims",
        anchor.dim());
  check(positive.sizes() == anchor.sizes() && negative.sizes() == anchor.sizes(),
        "triplet loss: anchor, positive and negative codes must have the same shape");
  check(margin >= 0, "triplet loss: margin {} must be >= 0", margin);
  TripletLossOutput out;
  out.positive_distance = triplet_distance(anchor, positive, distance);
  out.negative_distance = triplet_distance(anchor, negative, distance);
  out.loss = torch::relu(out.positive_distance - out.negative_distance + margin).mean();
  out.accuracy = (out.positive_distance < out.negative_distance).to(torch::kFloat64).mean().item<double>();
  return out;
}

}  // namespace medssl::losses
