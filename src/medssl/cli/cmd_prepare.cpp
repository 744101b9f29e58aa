// `medssl prepare --dataset DIR --out CACHE`: preprocess once into a fast, checksummed, resumable cache.
#include "medssl/cli/command.h"
#include "medssl/config/config.h"
#include "medssl/core/atomic_file.h"
#include "medssl/data/cache/prepare.h"

namespace medssl::cli {
namespace {

struct PrepareArgs {
  std::string dataset, out, config_path, spacing, window, normalize, resize_mode, store_dtype;
  int size = -1;
  double crop_foreground = -1e300;
  std::vector<std::string> sets;
};

MEDSSL_COMMAND("prepare", [](CLI::App& app) {
  static PrepareArgs a;
  auto* cmd = app.add_subcommand("prepare", "Preprocess a data set (MSD, nnU-Net, APTOS, folder) into a cache for fast training");
  cmd->add_option("--dataset", a.dataset, "data set folder")->required();
  cmd->add_option("--out", a.out, "cache folder (created; a killed run resumes here)")->required();
  cmd->add_option("--config", a.config_path, "JSON file with preprocessing keys (see docs/config-reference.md)");
  cmd->add_option("--set", a.sets, "override a key: key=value (repeatable)");
  cmd->add_option("--size", a.size, "final cube/square side (0 = keep)");
  cmd->add_option("--spacing", a.spacing, "target voxel size in mm, D,H,W (e.g. 2.5,0.8,0.8)");
  cmd->add_option("--window", a.window, "intensity window a_min,a_max mapped to [0,1] (e.g. -1000,400 for CT)");
  cmd->add_option("--normalize", a.normalize, "auto | minmax | zscore | divide_by_255 | none");
  cmd->add_option("--crop-foreground", a.crop_foreground, "crop to voxels above this normalised value (reference: 0.05)");
  cmd->add_option("--resize-mode", a.resize_mode, "resize | crop_pad");
  cmd->add_option("--store-dtype", a.store_dtype, "float32 | float16");
  cmd->callback([] {
    apply_global_options();
    remove_stale_temp_files(a.out);  // litter of a killed earlier run (never a finished file)
    std::vector<std::string> sets;
    if (a.size >= 0) sets.push_back("size=" + std::to_string(a.size));
    if (!a.spacing.empty()) sets.push_back("spacing=[" + a.spacing + "]");
    if (!a.window.empty()) sets.push_back("window=[" + a.window + "]");
    if (!a.normalize.empty()) sets.push_back("normalize=" + a.normalize);
    if (a.crop_foreground > -1e299) sets.push_back(fmt::format("crop_foreground={}", a.crop_foreground));
    if (!a.resize_mode.empty()) sets.push_back("resize_mode=" + a.resize_mode);
    if (!a.store_dtype.empty()) sets.push_back("store_dtype=" + a.store_dtype);
    sets.insert(sets.end(), a.sets.begin(), a.sets.end());  // explicit --set wins
    auto settings = config::load(a.config_path, cache::prepare_schema(), sets);
    cache::prepare_cache(a.dataset, a.out, settings);
  });
});

}  // namespace
}  // namespace medssl::cli
