// A cache larger than the memory the process may use trains through the cache: ImageSet then reads each case when it
// is used instead of preloading (ImageSetOptions::preload_limit_bytes, MEDSSL_PRELOAD_LIMIT).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "loader_fixtures.h"
#include "medssl/core/memory_info.h"
#include "medssl/data/loader/image_set.h"
#include "testkit/testkit.h"

using namespace medssl;
using data::ImageSet;
using data::ImageSetOptions;
namespace fs = std::filesystem;

namespace {

/// A private copy of the CT cache, so that the test can remove files from it.
cache::Cache copied_cache(const testkit::TempDir& dir) {
  const std::string copy = dir.file("cache");
  fs::copy(loader_testing::ct_cubes().dir, copy, fs::copy_options::recursive);
  return cache::open_cache(copy);
}

/// True if the set reads case 0 from disk on access (its file removed: the read fails naming it).
bool streams(const ImageSet& set, const cache::Cache& cache) {
  fs::remove(cache.cases[0].image_file);
  const std::string msg = testkit::error_of([&] { set.image(0); });
  return msg.find(cache.cases[0].image_file) != std::string::npos;
}

}  // namespace

TEST(ImageSetMemory, ACacheAboveThePreloadLimitIsReadOnUse) {
  testkit::TempDir dir;
  const cache::Cache cache = copied_cache(dir);
  ImageSetOptions o;
  o.preload_limit_bytes = 1;  // smaller than any case: nothing may be preloaded
  const ImageSet lazy = ImageSet::from_cache(cache, o);
  const ImageSet eager = ImageSet::from_cache(cache, ImageSetOptions{});
  ASSERT_EQ(lazy.size(), eager.size());
  for (int64_t i = 0; i < lazy.size(); ++i) EXPECT_TRUE(torch::equal(lazy.image(i), eager.image(i))) << i;
  EXPECT_TRUE(streams(lazy, cache));
  EXPECT_NO_THROW(eager.image(0));  // the preloaded set holds case 0 in memory
}

TEST(ImageSetMemory, EnvironmentVariableSetsTheLimit) {
  testkit::TempDir dir;
  const cache::Cache cache = copied_cache(dir);
  setenv("MEDSSL_PRELOAD_LIMIT", "1K", 1);
  const ImageSet lazy = ImageSet::from_cache(cache, ImageSetOptions{});
  setenv("MEDSSL_PRELOAD_LIMIT", "many", 1);
  EXPECT_NE(testkit::error_of([&] { ImageSet::from_cache(cache, ImageSetOptions{}); }).find("MEDSSL_PRELOAD_LIMIT"),
            std::string::npos);
  unsetenv("MEDSSL_PRELOAD_LIMIT");
  EXPECT_TRUE(streams(lazy, cache));
}

TEST(ImageSetMemory, AvailableMemoryIsKnownOnLinux) {
  const auto bytes = available_memory_bytes();
  ASSERT_TRUE(bytes.has_value());
  EXPECT_GT(*bytes, uint64_t{16} << 20);
}
