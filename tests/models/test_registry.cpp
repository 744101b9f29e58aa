// The model registry: every name builds, options reach the network, mistakes fail with helpful messages.
#include <gtest/gtest.h>

#include "testkit/testkit.h"

#include "medssl/core/error.h"
#include "medssl/models/densenet.h"
#include "medssl/models/heads.h"
#include "medssl/models/layers.h"
#include "medssl/models/registry.h"
#include "medssl/models/unet.h"

namespace medssl::models {
namespace {
using nlohmann::json;

using testkit::error_of;

TEST(ModelRegistry, EveryNameBuildsWithDefaultsOrRequiredOptions) {
  const std::map<std::string, json> required = {{"big_fully", {{"in_features", 16}}},
                                                {"linear_classifier", {{"in_features", 16}, {"num_classes", 2}}},
                                                {"projection_mlp", {{"in_features", 16}}}};
  for (const auto& name : model_names()) {
    json options = required.count(name) ? required.at(name) : json::object();
    auto h = build_model(name, options);
    EXPECT_EQ(h.name, name);
    EXPECT_NE(h.module, nullptr) << name;
    EXPECT_GT(h.out_features, 0) << name;
    EXPECT_GT(count_parameters(*h.module), 0) << name;
  }
}

TEST(ModelRegistry, UNet3DUpconvIsTheReferenceModel) {
  auto h = build_model("unet_3d_upconv", {{"num_classes", 3}, {"enc_filters", 16}, {"pooling", nullptr}});
  EXPECT_EQ(h.kind, "model");
  EXPECT_EQ(h.spatial_dims, 3);
  EXPECT_EQ(h.options["pooling"], "none");
  EXPECT_EQ(h.options["variant"], "taleb");
  auto unet = h.as<UNetImpl>();
  EXPECT_EQ(count_parameters(*unet), 5647891);
  EXPECT_THROW(h.as<DenseNetImpl>(), Error);
  auto h2 = build_model("unet_2d_upconv", {{"num_classes", 2}, {"enc_filters", 4}});
  EXPECT_EQ(h2.spatial_dims, 2);
  torch::NoGradGuard no_grad;
  h2.module->eval();
  EXPECT_EQ(h2.as<UNetImpl>()->forward(torch::randn({1, 1, 32, 32})).sizes(), torch::IntArrayRef({1, 2, 32, 32}));
}

TEST(ModelRegistry, EncoderDecoderAndDenseNetMetadata) {
  auto enc = build_model("unet_encoder", {{"spatial_dims", 2}, {"enc_filters", 8}});
  EXPECT_EQ(enc.kind, "encoder");
  EXPECT_EQ(enc.out_features, 128);
  auto dn = build_model("densenet121", {{"spatial_dims", 3}, {"in_channels", 1}, {"pooling", "max"}});
  EXPECT_EQ(dn.kind, "encoder");
  EXPECT_EQ(dn.out_features, 1024);
  EXPECT_EQ(dn.as<DenseNetImpl>()->options().pooling(), "max");
  auto cls = build_model("densenet121", {{"num_classes", 5}});
  EXPECT_EQ(cls.kind, "model");
  EXPECT_EQ(cls.out_features, 5);
  auto head = build_model("big_fully", {{"in_features", 4096}});
  EXPECT_EQ(head.out_features, 1024);
  EXPECT_EQ(head.as<BigFullyImpl>()->options().in_features(), 4096);
}

TEST(ModelRegistry, MistakesNameTheProblem) {
  auto msg = error_of([] { build_model("unet_4d", json::object()); });
  EXPECT_NE(msg.find("unet_4d"), std::string::npos) << msg;
  EXPECT_NE(msg.find("unet_3d_upconv"), std::string::npos) << msg;  // lists the valid names
  EXPECT_NE(msg.find("densenet121"), std::string::npos) << msg;

  msg = error_of([] { build_model("unet_3d_upconv", {{"enc_filterz", 8}}); });
  EXPECT_NE(msg.find("enc_filterz"), std::string::npos) << msg;
  EXPECT_NE(msg.find("enc_filters"), std::string::npos) << msg;  // lists the valid keys

  msg = error_of([] { build_model("unet_3d_upconv", {{"enc_filters", "sixteen"}}); });
  EXPECT_NE(msg.find("enc_filters"), std::string::npos) << msg;
  msg = error_of([] { build_model("unet_2d_upconv", {{"spatial_dims", 3}}); });
  EXPECT_NE(msg.find("spatial_dims"), std::string::npos) << msg;
  msg = error_of([] { build_model("big_fully", json::object()); });
  EXPECT_NE(msg.find("in_features"), std::string::npos) << msg;
  msg = error_of([] { build_model("densenet121", {{"pooling", "none"}}); });
  EXPECT_NE(msg.find("pooling"), std::string::npos) << msg;
  EXPECT_THROW(build_model("unet", json::array()), Error);
}

}  // namespace
}  // namespace medssl::models
