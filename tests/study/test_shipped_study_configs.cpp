// The study configs shipped in configs/studies must load with the study schema, name their methods as the
// reference tables do, and say where the data comes from.
#include <gtest/gtest.h>

#include "medssl/config/config.h"
#include "medssl/finetune/finetune_schema.h"
#include "medssl/pretext/pretrain.h"
#include "medssl/study/study_schema.h"

#include <filesystem>
#include "testkit/testkit.h"

using namespace medssl;

namespace {

std::vector<std::string> method_names(const config::Config& c) {
  std::vector<std::string> names;
  for (const auto& m : study::study_methods(c)) names.push_back(m.name);
  return names;
}

}  // namespace

TEST(ShippedStudyConfigs, FlareIouTableLoads) {
  auto c = config::load(std::string(MEDSSL_SOURCE_DIR) + "/configs/studies/flare2d_iou.json", study::study_schema());
  EXPECT_EQ(method_names(c), (std::vector<std::string>{"baseline", "simsiam_iou_0_0", "simsiam_iou_0.0001_0.3",
                                                       "simsiam_iou_0.3_0.6", "simsiam_iou_0.6_1",
                                                       "simsiam_random_crop"}));
  for (const auto& m : study::study_methods(c)) {
    if (m.is_baseline()) continue;
    EXPECT_EQ(m.algorithm, "simsiam");
    ASSERT_TRUE(m.overrides.contains("min_iou") && m.overrides.contains("max_iou")) << m.name;
    EXPECT_LE(m.overrides["min_iou"].get<double>(), m.overrides["max_iou"].get<double>()) << m.name;
  }
  EXPECT_EQ(c.raw().at("finetune_config").at("prediction_architecture"), "swinunetr");
  EXPECT_EQ(c.raw().at("finetune_config").at("data_is_3D"), false);
  EXPECT_EQ(c.get<std::vector<std::string>>("metrics"), (std::vector<std::string>{"dice"}));
  EXPECT_NE(c.raw().at("_doc").dump().find("flare22.grand-challenge.org"), std::string::npos);
}

TEST(ShippedStudyConfigs, BtcvVitTableLoads) {
  auto c = config::load(std::string(MEDSSL_SOURCE_DIR) + "/configs/studies/btcv_vit.json", study::study_schema());
  EXPECT_EQ(method_names(c), (std::vector<std::string>{"baseline", "vit_masked"}));
  EXPECT_EQ(study::study_methods(c)[1].algorithm, "vit_masked");
  EXPECT_EQ(c.raw().at("finetune_config").at("prediction_architecture"), "unetr");
  // 6 / 12 / 23 of the 23-volume training pool (30 cases - 6 test - 1 validation), as the _doc explains.
  const auto fractions = c.get<std::vector<double>>("fractions");
  ASSERT_EQ(fractions.size(), 3u);
  const std::vector<int> volumes = {6, 12, 23};
  for (size_t i = 0; i < fractions.size(); ++i) EXPECT_EQ(static_cast<int>(23 * fractions[i] / 100), volumes[i]);
  EXPECT_NE(c.raw().at("_doc").dump().find("synapse.org"), std::string::npos);
}

// Every run of the Taleb studies and of the demo validates: each method's pretrain config (its own file, or the
// study's) with its overrides, and the finetune config. Relative config paths are read from the source tree, as a
// user running from the checkout would.
TEST(ShippedStudyConfigs, TalebStudiesAndDemoValidateEveryRunConfig) {
  const auto cwd = std::filesystem::current_path();
  std::filesystem::current_path(MEDSSL_SOURCE_DIR);
  for (const std::string name : {"pancreas3d_taleb", "fundus2d_taleb", "demo"}) {
    SCOPED_TRACE(name);
    auto c = config::load("configs/studies/" + name + ".json", study::study_schema());
    const auto methods = study::study_methods(c);
    EXPECT_EQ(methods.front().name, "baseline");
    for (const auto& m : methods) {
      if (m.is_baseline()) continue;
      auto doc = study::method_pretrain_config(c, m);
      for (const auto& [k, v] : m.overrides.items()) doc[k] = v;
      doc["algorithm"] = m.algorithm;
      doc["data_dir"] = c.get<std::string>("data_dir");  // as run_study does
      EXPECT_NO_THROW(config::validate(doc, pretext::pretrain_schema(), name + " " + m.name)) << m.name;
    }
    auto finetune_doc = study::stage_config(c, "finetune_config", "finetune");
    finetune_doc["data_dir"] = c.get<std::string>("data_dir");
    EXPECT_NO_THROW(config::validate(finetune_doc, finetune::finetune_schema(), name));
  }
  std::filesystem::current_path(cwd);
}
