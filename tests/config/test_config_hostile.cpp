// Hostile configs: what a fuzzer or a typo can put in a config file must give one clear medssl::Error naming the
// file and key, never undefined behaviour, a stack overflow or a library exception.
#include <gtest/gtest.h>

#include <string>

#include "medssl/config/config.h"
#include "medssl/core/error.h"
#include "testkit/testkit.h"

using namespace medssl;
using namespace medssl::config;
using testkit::error_of;

namespace {

Schema counts_schema() {
  Schema s("counts");
  s.key("seed", Type::integer, 0, "any integer (no range declared)");
  s.key("sizes", Type::int_list, json::array({1}), "integers");
  s.optional("extra", Type::any, "anything");
  return s;
}

std::string load_error(const std::string& text, const std::vector<std::string>& sets = {}) {
  testkit::TempDir dir;
  const std::string path = dir.file("c.json");
  testkit::write_text(path, text);
  return error_of([&] { load(path, counts_schema(), sets); });
}

}  // namespace

TEST(ConfigHostile, IntegersThatDoNotFitInt64AreRejected) {
  // 1e19 is an integral double: it passed as an integer, and reading it as int64 was undefined behaviour.
  for (const char* text : {R"({"seed": 1e19})", R"({"seed": -1e300})", R"({"seed": 18446744073709551615})",
                           R"({"sizes": [1, 9.3e18]})"}) {
    const std::string msg = load_error(text);
    EXPECT_NE(msg.find("c.json"), std::string::npos) << text << ": " << msg;
    EXPECT_NE(msg.find("64-bit"), std::string::npos) << text << ": " << msg;
  }
  EXPECT_EQ(load_error(R"({"seed": 9223372036854775807, "sizes": [-9223372036854775807]})"), "");
  EXPECT_NE(load_error("{}", {"seed=1e19"}).find("seed"), std::string::npos);
}

TEST(ConfigHostile, DeeplyNestedValuesAreRefusedNotOverflowingTheStack) {
  const int depth = 200000;
  const std::string deep = std::string(depth, '[') + std::string(depth, ']');
  const std::string msg = load_error(R"({"extra": )" + deep + "}");
  EXPECT_NE(msg.find("c.json"), std::string::npos) << msg;
  EXPECT_NE(msg.find("nest"), std::string::npos) << msg;
  EXPECT_EQ(load_error(R"({"extra": [[[{"a": [1]}]]]})"), "");
  EXPECT_NE(error_of([] {
              json doc = json::object();
              apply_overrides(doc, {"extra=" + std::string(depth, '[') + std::string(depth, ']')});
            }).find("nest"),
            std::string::npos);
}

TEST(ConfigHostile, NumbersNoDoubleHoldsAreNamed) {
  const std::string msg = load_error(R"({"seed": 1e999})");
  EXPECT_NE(msg.find("c.json"), std::string::npos) << msg;
  EXPECT_NE(msg.find("out of range"), std::string::npos) << msg;
}

TEST(ConfigHostile, OverridesThatAreNotUtf8AreNamed) {
  // Found by fuzz_config: "--set count=0?\xff..." became a raw string, and the type error's dump() of it threw
  // nlohmann's type_error 316 instead of naming the key.
  const std::string msg = load_error("{}", {"seed=0?\xff\xff"});
  EXPECT_NE(msg.find("UTF-8"), std::string::npos) << msg;
  EXPECT_NE(load_error("{}", {"seed=caf\xc3\xa9"}).find("seed"), std::string::npos);  // valid UTF-8: a type error
}

TEST(ConfigHostile, NonAsciiKeysGetASuggestionOrNone) {
  const std::string msg = load_error("{\"s\xc3\xa9\xc3\xa8" "ed\": 1}");  // valid UTF-8, bytes >= 0x80
  EXPECT_NE(msg.find("unknown key"), std::string::npos) << msg;
}
