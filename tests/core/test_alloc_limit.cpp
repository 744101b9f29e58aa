// The per-file allocation limit (core/alloc_limit.h): MEDSSL_MAX_ALLOC parsing, the default, and the message.
#include <gtest/gtest.h>

#include <cstdlib>

#include "medssl/core/alloc_limit.h"
#include "medssl/core/error.h"
#include "testkit/testkit.h"

namespace medssl {
namespace {

using testkit::error_of;

TEST(AllocLimit, ParsesSizesWithUnits) {
  EXPECT_EQ(parse_byte_size("1234", "x"), 1234u);
  EXPECT_EQ(parse_byte_size("512M", "x"), uint64_t{512} << 20);
  EXPECT_EQ(parse_byte_size("8g", "x"), uint64_t{8} << 30);
  EXPECT_EQ(parse_byte_size("2GiB", "x"), uint64_t{2} << 30);
  EXPECT_EQ(parse_byte_size("3KB", "x"), uint64_t{3} << 10);
  EXPECT_EQ(parse_byte_size("1T", "x"), uint64_t{1} << 40);
  EXPECT_EQ(parse_byte_size("7B", "x"), 7u);
}

TEST(AllocLimit, RejectsWhatIsNotASize) {
  for (const char* bad : {"", "G", "-5", "12Q", "1.5G", "0", "99999999999999999999", "16777216T", "8 G"}) {
    const std::string msg = error_of([&] { parse_byte_size(bad, "MEDSSL_MAX_ALLOC"); });
    EXPECT_NE(msg.find("MEDSSL_MAX_ALLOC"), std::string::npos) << "'" << bad << "': " << msg;
  }
}

TEST(AllocLimit, EnvironmentVariableSetsTheLimit) {
  unsetenv("MEDSSL_MAX_ALLOC");
  EXPECT_EQ(max_alloc_bytes(), kDefaultMaxAllocBytes);
  setenv("MEDSSL_MAX_ALLOC", "64M", 1);
  EXPECT_EQ(max_alloc_bytes(), uint64_t{64} << 20);
  setenv("MEDSSL_MAX_ALLOC", "lots", 1);
  EXPECT_NE(error_of([] { max_alloc_bytes(); }).find("lots"), std::string::npos);
  unsetenv("MEDSSL_MAX_ALLOC");
}

TEST(AllocLimit, MessageNamesTheFileAndTheWayOut) {
  EXPECT_EQ(error_of([] { check_alloc(100, 100, "a.nii", "the image"); }), "");
  const std::string msg = error_of([] { check_alloc(101, 100, "a.nii", "the image"); });
  EXPECT_NE(msg.find("a.nii"), std::string::npos) << msg;
  EXPECT_NE(msg.find("101"), std::string::npos) << msg;
  EXPECT_NE(msg.find("MEDSSL_MAX_ALLOC"), std::string::npos) << msg;
}

}  // namespace
}  // namespace medssl
