#include <gtest/gtest.h>

#include "medssl/core/error.h"
#include "medssl/models/densenet.h"
#include "medssl/models/unet.h"
#include "medssl/train/batch_source.h"
#include "medssl/train/checkpoint.h"
#include "medssl/train/memory_format.h"
#include "medssl/train/trainer.h"
#include "testkit/testkit.h"
#include "train_testing.h"

namespace medssl::train {
namespace {

models::DenseNet tiny_densenet(int dims) {
  return models::DenseNet(models::DenseNetOptions()
                              .spatial_dims(dims)
                              .in_channels(1)
                              .num_classes(3)
                              .growth_rate(4)
                              .num_init_features(8)
                              .bn_size(2)
                              .block_config({2, 2}));
}

models::UNet tiny_unet(int dims) {
  return models::UNet(models::UNetOptions().spatial_dims(dims).in_channels(1).num_classes(2).enc_filters(4).num_layers(2));
}

bool is_channels_last(const torch::Tensor& t) {
  if (t.dim() == 4) return t.is_contiguous(at::MemoryFormat::ChannelsLast);
  if (t.dim() == 5) return t.is_contiguous(at::MemoryFormat::ChannelsLast3d);
  return true;
}

TEST(MemoryFormat, AutoChoosesChannelsLastOnlyForTheTwoDimensionalDenseNetOnCpu) {
  auto densenet2d = tiny_densenet(2);
  auto densenet3d = tiny_densenet(3);
  auto unet2d = tiny_unet(2);
  auto unet3d = tiny_unet(3);
  const torch::Device cpu(torch::kCPU);
  EXPECT_TRUE(use_channels_last("auto", *densenet2d, cpu));
  EXPECT_FALSE(use_channels_last("auto", *densenet3d, cpu));
  EXPECT_FALSE(use_channels_last("auto", *unet2d, cpu));
  EXPECT_FALSE(use_channels_last("auto", *unet3d, cpu));
  // A DenseNet inside a bigger module (a pretext network's encoder) is found too.
  torch::nn::Sequential wrapper;
  wrapper->push_back("encoder", densenet2d);
  EXPECT_TRUE(use_channels_last("auto", *wrapper, cpu));
  EXPECT_TRUE(use_channels_last("channels_last", *unet3d, cpu));
  EXPECT_FALSE(use_channels_last("contiguous", *densenet2d, cpu));
  EXPECT_NE(testkit::error_of([&] { use_channels_last("nhwc", *unet3d, cpu); }).find("memory_format"), std::string::npos);
  // The CUDA rule (every convolutional network) is decided without touching a GPU.
  const torch::Device cuda(torch::kCUDA, 0);
  EXPECT_TRUE(use_channels_last("auto", *unet3d, cuda));
  EXPECT_TRUE(use_channels_last("auto", *densenet3d, cuda));
  EXPECT_FALSE(use_channels_last("auto", *testing::TinyNet(), cuda));
}

// The layout changes, the values and the network's outputs and gradients do not (within float32 summation order).
void expect_same_output_and_gradients(torch::nn::Module& reference_net, torch::nn::Module& converted_net,
                                      const std::function<torch::Tensor(const torch::Tensor&)>& forward_reference,
                                      const std::function<torch::Tensor(const torch::Tensor&)>& forward_converted,
                                      const torch::Tensor& input) {
  torch::NoGradGuard no_grad_copy;
  auto src = reference_net.parameters();
  auto dst = converted_net.parameters();
  ASSERT_EQ(src.size(), dst.size());
  for (size_t i = 0; i < src.size(); ++i) dst[i].copy_(src[i]);
  const auto before = testing::flat_state(converted_net);
  std::vector<torch::Tensor> originals;
  for (auto& p : dst) originals.push_back(p);
  convert_to_channels_last(converted_net);
  auto after_params = converted_net.parameters();
  for (size_t i = 0; i < after_params.size(); ++i) {
    EXPECT_TRUE(after_params[i].is_same(originals[i])) << "parameter " << i << " was replaced, not converted in place";
    EXPECT_TRUE(is_channels_last(after_params[i])) << "parameter " << i;
  }
  EXPECT_TRUE(torch::equal(before, testing::flat_state(converted_net)));

  torch::AutoGradMode grad(true);
  const auto y_ref = forward_reference(input);
  const auto y_cl = forward_converted(input);
  EXPECT_TRUE(torch::allclose(y_ref, y_cl, 1e-4, 1e-5)) << (y_ref - y_cl).abs().max().item<double>();
  y_ref.pow(2).sum().backward();
  y_cl.pow(2).sum().backward();
  auto ref_params = reference_net.parameters();
  for (size_t i = 0; i < ref_params.size(); ++i) {
    ASSERT_TRUE(ref_params[i].grad().defined());
    const auto& a = ref_params[i].grad();
    const auto& b = after_params[i].grad();
    const double scale = std::max(1.0, a.abs().max().item<double>());
    EXPECT_LT((a - b).abs().max().item<double>(), 1e-3 * scale) << "gradient of parameter " << i;
  }
}

TEST(MemoryFormat, ChannelsLastDenseNetAndUNetGiveTheSameOutputsAndGradients) {
  torch::manual_seed(3);
  for (int dims : {2, 3}) {
    SCOPED_TRACE(dims);
    auto a = tiny_densenet(dims);
    auto b = tiny_densenet(dims);
    const auto x = torch::rand(dims == 2 ? std::vector<int64_t>{2, 1, 32, 32} : std::vector<int64_t>{2, 1, 16, 16, 16});
    expect_same_output_and_gradients(*a, *b, [&](const torch::Tensor& t) { return a->forward(t); },
                                     [&](const torch::Tensor& t) { return b->forward(t); }, x);
    auto u = tiny_unet(dims);
    auto v = tiny_unet(dims);
    u->eval();  // dropout off: both nets must see the same function
    v->eval();
    const auto y = torch::rand(dims == 2 ? std::vector<int64_t>{2, 1, 16, 16} : std::vector<int64_t>{1, 1, 16, 16, 16});
    expect_same_output_and_gradients(*u, *v, [&](const torch::Tensor& t) { return u->forward(t); },
                                     [&](const torch::Tensor& t) { return v->forward(t); }, y);
  }
}

// Through the trainer: memory_format channels_last and contiguous train a 2D DenseNet to the same weights, the
// converted run says so, and its checkpoint holds the same values.
TEST(MemoryFormat, TrainerTrainsTheSameWeightsInEitherLayout) {
  torch::manual_seed(5);
  const auto images = torch::rand({8, 1, 32, 32});
  const auto labels = torch::randint(0, 3, {8});
  std::map<std::string, torch::Tensor> data{{"image", images}, {"label", labels}};
  auto reference = tiny_densenet(2);
  std::vector<torch::Tensor> finals;
  for (const std::string format : {"contiguous", "channels_last", "auto"}) {
    SCOPED_TRACE(format);
    auto net = tiny_densenet(2);
    {
      torch::NoGradGuard no_grad;
      auto src = reference->parameters();
      auto dst = net->parameters();
      for (size_t i = 0; i < src.size(); ++i) dst[i].copy_(src[i]);
    }
    TensorBatchSource source(data, 4);
    testkit::TempDir dir;
    TrainerOptions o;
    o.epochs = 2;
    o.seed = 1;
    o.run_dir = dir.path();
    o.monitor = "train_loss";
    o.memory_format = format;
    o.optimizer = OptimizerOptions::keras_adam(0.01);
    StepFn step = [net](const Batch& b, StepContext&) mutable {
      return StepOutput{torch::cross_entropy_loss(net->forward(b.at("image")), b.at("label")), {}};
    };
    Trainer trainer(net.ptr(), source, step, nullptr, o);
    trainer.fit();
    EXPECT_EQ(trainer.channels_last(), format != "contiguous");
    finals.push_back(testing::flat_state(*net));
    if (format == "channels_last") {
      auto reloaded = tiny_densenet(2);
      load_checkpoint(trainer.last_checkpoint_path(), *reloaded, nullptr);
      EXPECT_TRUE(torch::equal(testing::flat_state(*reloaded), finals.back()));
    }
  }
  EXPECT_TRUE(torch::allclose(finals[0], finals[1], 1e-3, 1e-4)) << (finals[0] - finals[1]).abs().max().item<double>();
  EXPECT_TRUE(torch::equal(finals[1], finals[2]));
}

}  // namespace
}  // namespace medssl::train
