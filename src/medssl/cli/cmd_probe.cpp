// `medssl probe --pretrained RUN_DIR|none [--config CONFIG] --dataset DATA --out DIR`: linear-probe evaluation of a
// pretrained encoder's frozen features on labelled crops (probe/probe_run.h).
#include <iostream>

#include "medssl/cli/command.h"
#include "medssl/core/log.h"
#include "medssl/probe/probe_run.h"

namespace medssl::cli {
namespace {

MEDSSL_COMMAND("probe", [](CLI::App& app) {
  static probe::ProbeRequest a;
  static std::string sampling = "balanced";
  auto* cmd = app.add_subcommand(
      "probe", "Linear probe: logistic regression on a frozen (pretrained or random) encoder's crop features");
  cmd->add_option("--pretrained", a.pretrained, "a `medssl pretrain` run folder, or none (same encoder, random init)")
      ->required();
  cmd->add_option("--config", a.config_path, "pretrain config of the encoder (default: RUN_DIR/config.json)");
  cmd->add_option("--set", a.sets, "override a pretrain config key: key=value (repeatable)");
  cmd->add_option("--dataset", a.dataset, "labelled data set (MSD / nnU-Net) or a prepared cache of one")->required();
  cmd->add_option("--out", a.out_dir, "output folder: probe.json (and cache/)")->required();
  cmd->add_option("--cache", a.cache_dir, "where to prepare --dataset (default OUT/cache)");
  cmd->add_option("--checkpoint", a.checkpoint, "encoder of the run: last (encoder.pt) | best (encoder_best.pt)")
      ->check(CLI::IsMember({"last", "best"}));
  cmd->add_option("--crops", a.crops, "crops drawn in all, train + test (default 512)");
  cmd->add_option("--crop-size", a.crop_side, "crop side in voxels (default: the run's data_dim)");
  cmd->add_option("--test-fraction", a.test_fraction, "share of the cases held out for testing (default 0.25)");
  cmd->add_option("--sampling", sampling, "balanced (class-balanced crop centres, default) | uniform")
      ->check(CLI::IsMember({"balanced", "uniform"}));
  cmd->add_option("--l2", a.l2, "L2 penalty of the logistic regression (default 1e-3)");
  cmd->add_option("--iterations", a.iterations, "L-BFGS iterations (default 200)");
  cmd->add_option("--seed", a.seed, "seed of the crops and the case split (default 0)");
  cmd->callback([] {
    apply_global_options();
    a.balanced = sampling == "balanced";
    const auto result = probe::run_probe(a);
    const auto& test = result.at("test");
    std::cout << fmt::format("linear probe ({} encoder, {} {}D crops of side {}, {} features)\n",
                             a.pretrained == "none" ? "random" : "pretrained", result.at("algorithm").get<std::string>(),
                             result.at("spatial_dims").get<int>(), result.at("crop_side").get<int64_t>(),
                             result.at("feature_width").get<int64_t>());
    std::cout << fmt::format("  {:<22} {:>8}\n", "metric", "value");
    std::cout << fmt::format("  {:<22} {:>8.4f}\n", "train accuracy", result.at("train").at("accuracy").get<double>());
    std::cout << fmt::format("  {:<22} {:>8.4f}\n", "test accuracy", test.at("accuracy").get<double>());
    std::cout << fmt::format("  {:<22} {:>8.4f}\n", "test balanced accuracy",
                             test.at("balanced_accuracy").get<double>());
    std::cout << fmt::format("  {:<22} {:>8.4f}\n", "majority-class rate", test.at("majority_rate").get<double>());
    std::cout << fmt::format("  {:<22} {:>8}\n", "train / test crops",
                             fmt::format("{}/{}", result.at("train_crops").get<int64_t>(),
                                         result.at("test_crops").get<int64_t>()));
    log::info("probe: wrote {}/probe.json ({:.1f} s)", a.out_dir, result.at("seconds").get<double>());
  });
});

}  // namespace
}  // namespace medssl::cli
