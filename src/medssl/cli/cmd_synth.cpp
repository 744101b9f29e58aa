// `medssl synth ct3d|fundus`: synthetic data sets in the real on-disk layouts (MSD, APTOS); see docs/synthetic-data.md.
#include "medssl/cli/command.h"
#include "medssl/core/log.h"
#include "medssl/core/progress.h"
#include "medssl/data/synth/synth.h"

namespace medssl::cli {
namespace {

MEDSSL_COMMAND("synth", [](CLI::App& app) {
  auto* cmd = app.add_subcommand("synth", "Write a synthetic data set in a real layout (CT phantoms as MSD, fundus as APTOS)");
  cmd->require_subcommand(1);

  static synth::Ct3dOptions ct;
  auto* ct3d = cmd->add_subcommand("ct3d", "Abdominal CT phantoms with pancreas (1) and tumour (2) labels, MSD Task07 layout");
  ct3d->add_option("--out", ct.out, "output folder")->required();
  ct3d->add_option("--cases", ct.cases, "labelled cases (imagesTr/labelsTr)")->check(CLI::Range(1, 100000));
  ct3d->add_option("--unlabelled", ct.unlabelled, "extra image-only cases (imagesTs) for pretraining")->check(CLI::Range(0, 1000000));
  ct3d->add_option("--size", ct.size, "in-plane size in voxels (depth is about 3/4 of it)")->check(CLI::Range(16, 1024));
  ct3d->add_option("--seed", ct.seed, "random seed (same seed, same files)");
  ct3d->callback([] {
    apply_global_options();
    Stopwatch timer;
    synth::write_ct3d(ct);
    log::info("wrote {} labelled + {} unlabelled CT phantoms ({}^2 in-plane) to {} in {}", ct.cases, ct.unlabelled,
              ct.size, ct.out, Progress::format_duration(timer.seconds()));
  });

  static synth::FundusOptions fu;
  auto* fundus = cmd->add_subcommand("fundus", "Fundus photographs with graded lesions (0-4), APTOS 2019 layout");
  fundus->add_option("--out", fu.out, "output folder")->required();
  fundus->add_option("--images", fu.images, "number of images")->check(CLI::Range(1, 1000000));
  fundus->add_option("--size", fu.size, "nominal image side in pixels")->check(CLI::Range(16, 4096));
  fundus->add_option("--seed", fu.seed, "random seed (same seed, same files)");
  fundus->callback([] {
    apply_global_options();
    Stopwatch timer;
    synth::write_fundus(fu);
    log::info("wrote {} fundus images (~{} px) to {} in {}", fu.images, fu.size, fu.out,
              Progress::format_duration(timer.seconds()));
  });
});

}  // namespace
}  // namespace medssl::cli
