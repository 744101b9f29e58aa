// Study configs with fields of the wrong type: one clear medssl::Error naming the method and field (fuzz_config's
// territory; nlohmann's type_error used to escape from here with a message naming neither).
#include <gtest/gtest.h>

#include "medssl/core/error.h"
#include "medssl/study/study_schema.h"
#include "testkit/testkit.h"

namespace medssl::study {
namespace {

using json = nlohmann::json;

std::string methods_error(const json& methods) {
  const json doc = {{"methods", methods}, {"finetune_config", json::object()}};
  return testkit::error_of([&] { study_methods(config::validate(doc, study_schema(), "s.json")); });
}

TEST(StudySchemaHostile, MethodFieldsOfTheWrongTypeNameTheField) {
  for (const auto& [method, field] : std::vector<std::pair<json, std::string>>{
           {{{"algorithm", "rotation"}, {"name", 7}}, "name"},
           {{{"algorithm", "rotation"}, {"pretrained", {1, 2}}}, "pretrained"},
           {{{"algorithm", 3}}, "algorithm"},
           {{{"algorithm", "rotation"}, {"overrides", "epochs=2"}}, "overrides"},
       }) {
    const std::string msg = methods_error(json::array({method}));
    EXPECT_NE(msg.find("s.json"), std::string::npos) << method.dump() << ": " << msg;
    EXPECT_NE(msg.find("methods[0]"), std::string::npos) << method.dump() << ": " << msg;
    EXPECT_NE(msg.find(field), std::string::npos) << method.dump() << ": " << msg;
  }
  EXPECT_NE(methods_error(json::array({nullptr})).find("methods[0]"), std::string::npos);
  EXPECT_EQ(methods_error(json::array({"baseline", {{"algorithm", "rotation"}, {"name", "rot"}}})), "");
}

}  // namespace
}  // namespace medssl::study
