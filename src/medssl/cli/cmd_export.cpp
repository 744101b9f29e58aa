// `medssl export --checkpoint CKPT --out FILE.pt [--part model|encoder] [--list]`: a trained model (or its encoder) as
// a plain state dict that Python reads with torch.load(FILE, weights_only=True) and loads with
// model.load_state_dict. Names are kept: medssl's models already use torchvision's (DenseNet) and MONAI's (ViT,
// UNETR) parameter names, so no renaming is needed (and none is offered).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <optional>

#include "medssl/cli/command.h"
#include "medssl/core/error.h"
#include "medssl/core/log.h"
#include "medssl/train/checkpoint.h"
#include "medssl/weights/manifest.h"
#include "medssl/weights/python_twins.h"
#include "medssl/weights/weights_file.h"

namespace medssl::cli {
namespace {

namespace fs = std::filesystem;
using weights::StateDict;
using weights::is_running_statistic;
using weights::leading_components;

struct ExportArgs {
  std::string checkpoint, out, part = "model";
  bool list = false;
};

std::string shape_of(const torch::Tensor& t) { return fmt::format("[{}]", fmt::join(t.sizes(), ", ")); }

void print_list(const StateDict& tensors) {
  size_t width = 4;
  for (const auto& item : tensors) width = std::max(width, item.first.size());
  std::printf("%-*s  %-20s  %s\n", static_cast<int>(width), "name", "shape", "dtype");
  for (const auto& [name, t] : tensors)
    std::printf("%-*s  %-20s  %s\n", static_cast<int>(width), name.c_str(), shape_of(t).c_str(),
                c10::toString(t.scalar_type()));
}

/// The exported file's manifest: the source's (a medssl checkpoint's run manifest, or a weights file's), marked as an
/// export; a file without one gets the provenance fields only.
nlohmann::json export_manifest(const weights::WeightsFile& file, const std::string& source, const std::string& part) {
  nlohmann::json m = file.manifest.is_object() ? file.manifest : weights::base_manifest("export");
  const nlohmann::json base = weights::base_manifest("export");
  m["exported_from"] = {{"file", source}, {"source", file.description()}, {"part", part},
                        {"kind", m.value("kind", "unknown")}, {"medssl", base.at("medssl")}};
  m["kind"] = "export";
  if (!m.contains("format")) m["format"] = base.at("format");
  if (part == "encoder") m["tensor_prefix"] = "";
  return m;
}

void run_export(const ExportArgs& a) {
  check(a.list || !a.out.empty(), "export: --out FILE.pt is required (or --list to only show the tensors)");
  if (!a.out.empty() && fs::exists(a.out) && fs::exists(a.checkpoint))
    check(!fs::equivalent(a.out, a.checkpoint), "export: --out '{}' is the checkpoint itself; choose another file",
          a.out);

  const weights::WeightsFile file = weights::read_weights_file(a.checkpoint);
  std::string source = file.description();
  if (file.format == weights::WeightsFormat::medssl_checkpoint) {
    const auto state = train::read_checkpoint_state(a.checkpoint).state;
    source += fmt::format(", after {} optimiser steps", state.global_step);
  }

  StateDict tensors = file.tensors;
  if (a.part == "encoder") {
    tensors = weights::strip_prefix(file.tensors, "encoder.");
    check(!tensors.empty(), "export: '{}' has no tensors under \"encoder.\" (its names start with: {}); use --part "
          "model", a.checkpoint, leading_components(file.tensors));
  }

  int64_t parameters = 0, statistics = 0, bytes = 0;
  for (const auto& [name, t] : tensors) {
    (is_running_statistic(name) ? statistics : parameters) += t.numel();
    bytes += static_cast<int64_t>(t.nbytes());
  }
  if (a.list) print_list(tensors);
  if (!a.list) weights::save_weights(tensors, a.out, export_manifest(file, a.checkpoint, a.part));

  std::printf("%s %zu tensors (%s) of %s (%s)%s\n", a.list ? "listed" : "exported", tensors.size(),
              a.part == "encoder" ? "encoder, prefix \"encoder.\" removed" : "whole model", a.checkpoint.c_str(),
              source.c_str(), a.list ? "" : (" -> " + a.out).c_str());
  std::printf("  parameters  %lld (+ %lld BatchNorm running-statistic values)\n", static_cast<long long>(parameters),
              static_cast<long long>(statistics));
  std::printf("  size        %lld bytes (%.1f MiB)\n", static_cast<long long>(bytes), bytes / (1024.0 * 1024.0));
  std::printf("  names       start with %s\n", leading_components(tensors).c_str());
  if (auto verdict = weights::torchvision_densenet_verdict(tensors, a.list ? "FILE.pt" : a.out))
    std::printf("  torchvision %s\n", verdict->c_str());
  if (auto note = weights::monai_vit_note(tensors)) std::printf("  MONAI       %s\n", note->c_str());
  if (!a.list) {
    std::printf("  python      sd = torch.load('%s', weights_only=True); model.load_state_dict(sd)\n", a.out.c_str());
    std::printf("  manifest    %s (also embedded in the file)\n", weights::manifest_sidecar_path(a.out).c_str());
  }
}

MEDSSL_COMMAND("export", [](CLI::App& app) {
  static ExportArgs a;
  auto* cmd = app.add_subcommand(
      "export",
      "Write a checkpoint's model (or encoder) as a state dict for Python: torch.load(FILE, weights_only=True)");
  cmd->add_option("CHECKPOINT,--checkpoint", a.checkpoint,
                  "medssl checkpoint (RUN_DIR/checkpoints/last.pt or best.pt) or a state dict file")
      ->required();
  cmd->add_option("--out", a.out, "state dict file to write (atomically)");
  cmd->add_option("--part", a.part, "model: every tensor; encoder: the tensors under \"encoder.\", prefix removed")
      ->check(CLI::IsMember({"model", "encoder"}))
      ->capture_default_str();
  cmd->add_flag("--list,--dry-run", a.list, "only print the names, shapes and dtypes; write nothing");
  cmd->callback([] {
    apply_global_options();
    run_export(a);
  });
});

}  // namespace
}  // namespace medssl::cli
