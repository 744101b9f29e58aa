#include <gtest/gtest.h>

#include "medssl/config/config.h"
#include "medssl/core/error.h"
#include "testkit/testkit.h"

using namespace medssl;
using namespace medssl::config;

namespace {

Schema pretrain_like_schema() {
  Schema s("pretrain");
  s.required("algorithm", Type::string, "pretext task").choices("algorithm", {"rotation", "rpl", "jigsaw", "exemplar", "cpc"});
  s.key("batch_size", Type::integer, 8, "samples per batch").range("batch_size", 1, std::nullopt);
  s.key("lr", Type::number, 1e-4, "learning rate").range("lr", 0.0, std::nullopt);
  s.key("patch_jitter", Type::integer, 0, "jitter");
  s.key("augment", Type::boolean, false, "augment");
  s.key("exp_splits", Type::int_list, json::array({100, 10, 1}), "fractions").range("exp_splits", 0, 100);
  s.optional("data_dir", Type::string, "data set");
  s.ignored("embed_dim", "dead key in the reference's cpc_3d.json");
  return s;
}

using testkit::error_of;

}  // namespace

TEST(Config, FillsDefaultsAndKeepsValues) {
  auto c = validate(json{{"algorithm", "rotation"}, {"lr", 0.001}}, pretrain_like_schema(), "x.json");
  EXPECT_EQ(c.get<std::string>("algorithm"), "rotation");
  EXPECT_DOUBLE_EQ(c.get<double>("lr"), 0.001);
  EXPECT_EQ(c.get<int>("batch_size"), 8);
  EXPECT_EQ(c.get<std::vector<int>>("exp_splits"), (std::vector<int>{100, 10, 1}));
  EXPECT_FALSE(c.has("data_dir"));
}

TEST(Config, UnknownKeyIsAnErrorWithSuggestion) {
  auto msg = error_of([] { validate(json{{"algorithm", "rotation"}, {"batch_sise", 4}}, pretrain_like_schema(), "cfg.json"); });
  EXPECT_NE(msg.find("unknown key 'batch_sise'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("did you mean 'batch_size'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("cfg.json"), std::string::npos) << msg;
}

TEST(Config, WrongTypeOutOfRangeBadChoiceAndMissingRequired) {
  auto s = pretrain_like_schema();
  EXPECT_NE(error_of([&] { validate(json{{"algorithm", "rotation"}, {"lr", "fast"}}, s, "a.json"); }).find("key 'lr' must be a number"), std::string::npos);
  EXPECT_NE(error_of([&] { validate(json{{"algorithm", "rotation"}, {"batch_size", 0}}, s, "a.json"); }).find("out of range"), std::string::npos);
  EXPECT_NE(error_of([&] { validate(json{{"algorithm", "rotation"}, {"batch_size", 2.5}}, s, "a.json"); }).find("must be an integer"), std::string::npos);
  auto choice = error_of([&] { validate(json{{"algorithm", "rotaton"}}, s, "a.json"); });
  EXPECT_NE(choice.find("did you mean \"rotation\""), std::string::npos) << choice;
  EXPECT_NE(error_of([&] { validate(json::object(), s, "a.json"); }).find("required key 'algorithm'"), std::string::npos);
  EXPECT_NE(error_of([&] { validate(json{{"algorithm", "rotation"}, {"exp_splits", {5, 200}}}, s, "a.json"); }).find("out of range"), std::string::npos);
}

TEST(Config, IgnoredReferenceKeysAreAcceptedAndDropped) {
  auto c = validate(json{{"algorithm", "cpc"}, {"embed_dim", 64}}, pretrain_like_schema(), "cpc_3d.json");
  EXPECT_FALSE(c.raw().contains("embed_dim"));
}

TEST(Config, OverridesParseJsonOrStringAndReachNestedKeys) {
  json doc{{"algorithm", "rotation"}};
  apply_overrides(doc, {"lr=0.5", "augment=true", "data_dir=/data/Task07", "exp_splits=[5,10]", "a.b=3"});
  EXPECT_DOUBLE_EQ(doc["lr"].get<double>(), 0.5);
  EXPECT_TRUE(doc["augment"].get<bool>());
  EXPECT_EQ(doc["data_dir"], "/data/Task07");
  EXPECT_EQ(doc["exp_splits"], json::array({5, 10}));
  EXPECT_EQ(doc["a"]["b"], 3);
  EXPECT_THROW(apply_overrides(doc, {"novalue"}), Error);
}

TEST(Config, LoadReportsJsonSyntaxErrorsWithLineAndColumn) {
  testkit::TempDir dir;
  testkit::write_text(dir.file("bad.json"), "{\n  \"algorithm\": \"rotation\",\n  \"lr\": ,\n}\n");
  auto msg = error_of([&] { load(dir.file("bad.json"), pretrain_like_schema()); });
  EXPECT_NE(msg.find("bad.json:3:"), std::string::npos) << msg;
  EXPECT_NE(error_of([&] { load(dir.file("missing.json"), pretrain_like_schema()); }).find("missing.json"), std::string::npos);
}

TEST(Config, LoadAppliesOverridesBeforeValidation) {
  testkit::TempDir dir;
  testkit::write_text(dir.file("c.json"), R"({"algorithm": "jigsaw", "batch_size": 4})");
  auto c = load(dir.file("c.json"), pretrain_like_schema(), {"batch_size=16"});
  EXPECT_EQ(c.get<int>("batch_size"), 16);
  EXPECT_THROW(load(dir.file("c.json"), pretrain_like_schema(), {"nope=1"}), Error);
}

TEST(Config, MarkdownListsEveryKey) {
  auto md = pretrain_like_schema().to_markdown();
  for (auto k : {"algorithm", "batch_size", "lr", "exp_splits", "embed_dim"}) EXPECT_NE(md.find(k), std::string::npos) << k;
}

TEST(Config, MarkdownEscapesPipesSoEveryRowKeepsFourCells) {
  Schema s("loss");
  s.key("loss", Type::string, "dice|ce", "dice | dice_ce | ce");
  const auto md = s.to_markdown();
  EXPECT_NE(md.find(R"(`"dice\|ce"`)"), std::string::npos) << md;
  EXPECT_NE(md.find("dice \\| dice_ce \\| ce"), std::string::npos) << md;
  const std::string row = md.substr(md.find("| `loss`"));
  int unescaped = 0;
  for (size_t i = 0; i < row.size() && row[i] != '\n'; ++i) unescaped += row[i] == '|' && (i == 0 || row[i - 1] != '\\');
  EXPECT_EQ(unescaped, 5) << row;
}

TEST(Config, ClosestMatch) {
  EXPECT_EQ(closest_match("epoch", {"epochs", "lr"}), "epochs");
  EXPECT_EQ(closest_match("zzzzzzzz", {"epochs", "lr"}), "");
}
