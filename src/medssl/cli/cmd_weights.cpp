// `medssl weights inspect FILE [--json] [--entry E]`: what a weights file holds (any file --init-weights reads: a
// medssl checkpoint, medssl's or Python's torch.save files), with its manifest; nothing is loaded into a model.
#include <iostream>

#include "medssl/cli/command.h"
#include "medssl/weights/weights_file.h"
#include "medssl/weights/weights_inspect.h"

namespace medssl::cli {
namespace {

struct WeightsArgs {
  std::string file, entry;
  bool json = false;
};

MEDSSL_COMMAND("weights", [](CLI::App& app) {
  auto* cmd = app.add_subcommand("weights", "Weights files: inspect tensors, nesting and manifest (docs/weights.md)");
  cmd->require_subcommand(1);
  static WeightsArgs a;
  auto* inspect = cmd->add_subcommand(
      "inspect", "List a weights file's tensors (name, shape, dtype), where its state dict was found, its manifest");
  inspect->add_option("FILE", a.file, "medssl checkpoint, torch.save file (medssl's or Python's), zip or legacy format")
      ->required();
  inspect->add_flag("--json", a.json, "print the inspection as JSON on stdout");
  inspect->add_option("--entry", a.entry,
                      "the nested state dict to read when the file holds several (e.g. teacher, model/state_dict)");
  inspect->callback([] {
    apply_global_options();
    weights::ReadWeightsOptions options;
    options.entry = a.entry;
    const auto inspection = weights::inspect_weights(weights::read_weights_file(a.file, options));
    if (a.json) std::cout << inspection.dump(2) << "\n";
    else std::cout << weights::inspection_text(inspection);
  });
});

}  // namespace
}  // namespace medssl::cli
