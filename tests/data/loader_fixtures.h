#pragma once
// Small prepared caches for the loader tests, each built once per test process (synthetic data + prepare_cache).
#include <memory>
#include <string>
#include <vector>

#include "medssl/config/config.h"
#include "medssl/data/cache/prepare.h"
#include "medssl/data/synth/synth.h"
#include "testkit/testkit.h"

namespace medssl::loader_testing {

inline cache::Cache build_cache(const std::string& name, bool ct, int cases, int unlabelled, int synth_size,
                                const std::vector<std::string>& sets) {
  static testkit::TempDir dir("medssl-loader-test");
  const std::string raw = dir.file(name + "_raw"), out = dir.file(name + "_cache");
  if (ct) {
    synth::Ct3dOptions o;
    o.out = raw;
    o.cases = cases;
    o.unlabelled = unlabelled;
    o.size = synth_size;
    o.seed = 7;
    synth::write_ct3d(o);
  } else {
    synth::FundusOptions o;
    o.out = raw;
    o.images = cases;
    o.size = synth_size;
    o.seed = 7;
    synth::write_fundus(o);
  }
  cache::prepare_cache(raw, out, config::load("", cache::prepare_schema(), sets));
  return cache::open_cache(out);
}

/// 3 labelled + 1 unlabelled CT volumes at their native (non-cubic, per-case) shape, min-max normalised.
inline const cache::Cache& ct_native() {
  static const cache::Cache c = build_cache("ct_native", true, 3, 1, 24, {});
  return c;
}

/// 9 labelled + 1 unlabelled CT volumes resized to 16^3.
inline const cache::Cache& ct_cubes() {
  static const cache::Cache c = build_cache("ct_cubes", true, 9, 1, 16, {"size=16"});
  return c;
}

/// 5 fundus pictures resized to 32 x 32 (3 channels).
inline const cache::Cache& fundus() {
  static const cache::Cache c = build_cache("fundus", false, 5, 0, 48, {"size=32"});
  return c;
}

}  // namespace medssl::loader_testing
