// `medssl demo`: the embedded default. Runs every stage medssl has on data it makes itself, so a fresh checkout shows
// the whole path from files on disk to training-ready tensors: synthesise an MSD-layout CT phantom set and an
// APTOS-layout fundus set, validate them with the real readers (headers, shapes, label values), and prepare caches.
#include <filesystem>

#include "medssl/cli/command.h"
#include "medssl/config/config.h"
#include "medssl/core/log.h"
#include "medssl/core/progress.h"
#include "medssl/data/cache/prepare.h"
#include "medssl/data/layouts/dataset_index.h"
#include "medssl/data/synth/synth.h"

namespace medssl::cli {
namespace {

struct DemoArgs {
  std::string out = "demo-out";
  int labelled = 40, unlabelled = 60, size = 64, images = 200;
  uint64_t seed = 0;
};

MEDSSL_COMMAND("demo", [](CLI::App& app) {
  static DemoArgs a;
  auto* cmd = app.add_subcommand("demo", "Run the embedded default on synthetic data (what `make demo` runs)");
  cmd->add_option("--out", a.out, "output folder")->capture_default_str();
  cmd->add_option("--labelled", a.labelled, "labelled CT phantoms")->capture_default_str()->check(CLI::Range(2, 10000));
  cmd->add_option("--unlabelled", a.unlabelled, "unlabelled CT phantoms")->capture_default_str()->check(CLI::Range(0, 100000));
  cmd->add_option("--size", a.size, "CT in-plane size")->capture_default_str()->check(CLI::Range(16, 512));
  cmd->add_option("--images", a.images, "fundus images")->capture_default_str()->check(CLI::Range(10, 100000));
  cmd->add_option("--seed", a.seed, "random seed")->capture_default_str();
  cmd->callback([] {
    apply_global_options();
    Stopwatch total;
    const std::string ct_dir = a.out + "/data/SynthPancreas", fundus_dir = a.out + "/data/SynthAptos";

    log::info("[1/4] synthesising {} labelled + {} unlabelled CT phantoms at {}^2 -> {}", a.labelled, a.unlabelled, a.size, ct_dir);
    synth::write_ct3d({ct_dir, a.labelled, a.unlabelled, a.size, a.seed});
    log::info("[2/4] synthesising {} fundus photographs -> {}", a.images, fundus_dir);
    synth::write_fundus({fundus_dir, a.images, 256, a.seed});

    log::info("[3/4] validating both data sets with the MSD and APTOS readers (headers, shapes, label values)");
    auto ct = data::open_dataset(ct_dir, {/*check_headers=*/true});
    auto fundus = data::open_dataset(fundus_dir, {/*check_headers=*/false});

    log::info("[4/4] preparing training caches (Taleb et al. preprocessing: min-max, foreground crop 0.05, cubes)");
    cache::prepare_cache(ct_dir, a.out + "/cache/ct64",
                         config::load("", cache::prepare_schema(), {"crop_foreground=0.05", "size=64"}));
    cache::prepare_cache(fundus_dir, a.out + "/cache/fundus128", config::load("", cache::prepare_schema(), {"size=128"}));

    std::printf("\nmedssl demo finished in %s\n", Progress::format_duration(total.seconds()).c_str());
    std::printf("  CT phantoms  %s: %zu labelled, %zu unlabelled (%s layout)\n", ct_dir.c_str(), ct.training.size(),
                ct.test.size() + ct.unlabelled.size(), ct.layout.c_str());
    std::printf("  fundus       %s: %zu graded images (%s layout)\n", fundus_dir.c_str(), fundus.training.size(), fundus.layout.c_str());
    std::printf("  caches       %s/cache/ct64, %s/cache/fundus128\n", a.out.c_str(), a.out.c_str());
    std::printf("  inspect      build/medssl info %s\n", ct.training.front().images.front().c_str());
  });
});

}  // namespace
}  // namespace medssl::cli
