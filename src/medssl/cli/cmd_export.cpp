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
#include "medssl/models/densenet.h"
#include "medssl/train/checkpoint.h"
#include "medssl/weights/torch_save_format.h"
#include "medssl/weights/weights_file.h"

namespace medssl::cli {
namespace {

namespace fs = std::filesystem;
using weights::StateDict;

struct ExportArgs {
  std::string checkpoint, out, part = "model";
  bool list = false;
};

std::string shape_of(const torch::Tensor& t) { return fmt::format("[{}]", fmt::join(t.sizes(), ", ")); }

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

/// BatchNorm running statistics are state, not learnable parameters (a state dict does not say which is which).
bool is_running_statistic(const std::string& name) {
  return ends_with(name, ".running_mean") || ends_with(name, ".running_var") || ends_with(name, ".num_batches_tracked");
}

/// The distinct first name components, e.g. "encoder., head.".
std::string leading_components(const StateDict& tensors) {
  std::vector<std::string> heads;  // the map is sorted, so equal heads are adjacent
  for (const auto& item : tensors) {
    const auto dot = item.first.find('.');
    std::string head = dot == std::string::npos ? item.first : item.first.substr(0, dot + 1);
    if (heads.empty() || heads.back() != head) heads.push_back(head);
  }
  return fmt::format("{}", fmt::join(heads, ", "));
}

/// For a DenseNet state dict: whether torchvision.models.densenet121 loads it, judged against a medssl DenseNet-121
/// (whose names and shapes equal torchvision's, tests/models/test_densenet.cpp). nullopt: not a DenseNet.
std::optional<std::string> torchvision_verdict(const StateDict& tensors, const std::string& file) {
  if (!tensors.count("features.conv0.weight") || !tensors.count("features.norm5.weight")) return std::nullopt;
  const auto& conv0 = tensors.at("features.conv0.weight");
  if (conv0.dim() != 4) return std::string("not loadable: a 3D DenseNet (torchvision's densenet121 is 2D)");
  if (conv0.size(1) != 3)
    return fmt::format("not loadable: {} input channels (torchvision's densenet121 takes 3)", conv0.size(1));
  const bool has_classifier = tensors.count("classifier.weight") > 0;
  const int64_t classes = has_classifier ? tensors.at("classifier.weight").size(0) : 1000;
  models::DenseNet reference(models::DenseNetOptions().spatial_dims(2).in_channels(3).num_classes(classes));
  const StateDict expected_tensors = weights::state_dict(*reference);
  std::vector<std::string> differences;
  size_t classifier_missing = 0;
  for (const auto& [name, expected] : expected_tensors) {
    auto it = tensors.find(name);
    if (it == tensors.end()) {
      if (name.rfind("classifier.", 0) == 0) ++classifier_missing;
      else differences.push_back("missing " + name);
    } else if (it->second.sizes() != expected.sizes()) {
      differences.push_back(fmt::format("{} is {} instead of {}", name, shape_of(it->second), shape_of(expected)));
    }
  }
  for (const auto& item : tensors)
    if (!expected_tensors.count(item.first)) differences.push_back("extra " + item.first);
  if (!differences.empty())
    return fmt::format("not loadable into densenet121: {} differences (first: {}); another DenseNet configuration?",
                       differences.size(), differences.front());
  if (classifier_missing > 0)
    return fmt::format("loadable without a classifier: torchvision.models.densenet121().load_state_dict("
                       "torch.load('{}'), strict=False) reports only classifier.weight/bias missing",
                       file);
  return fmt::format("loadable: torchvision.models.densenet121(num_classes={}).load_state_dict(torch.load('{}'), "
                     "strict=True)",
                     classes, file);
}

void print_list(const StateDict& tensors) {
  size_t width = 4;
  for (const auto& item : tensors) width = std::max(width, item.first.size());
  std::printf("%-*s  %-20s  %s\n", static_cast<int>(width), "name", "shape", "dtype");
  for (const auto& [name, t] : tensors)
    std::printf("%-*s  %-20s  %s\n", static_cast<int>(width), name.c_str(), shape_of(t).c_str(),
                c10::toString(t.scalar_type()));
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
  if (!a.list) weights::write_torch_save(tensors, a.out);

  std::printf("%s %zu tensors (%s) of %s (%s)%s\n", a.list ? "listed" : "exported", tensors.size(),
              a.part == "encoder" ? "encoder, prefix \"encoder.\" removed" : "whole model", a.checkpoint.c_str(),
              source.c_str(), a.list ? "" : (" -> " + a.out).c_str());
  std::printf("  parameters  %lld (+ %lld BatchNorm running-statistic values)\n", static_cast<long long>(parameters),
              static_cast<long long>(statistics));
  std::printf("  size        %lld bytes (%.1f MiB)\n", static_cast<long long>(bytes), bytes / (1024.0 * 1024.0));
  std::printf("  names       start with %s\n", leading_components(tensors).c_str());
  if (auto verdict = torchvision_verdict(tensors, a.list ? "FILE.pt" : a.out))
    std::printf("  torchvision %s\n", verdict->c_str());
  for (const auto& item : tensors)
    if (item.first.find("patch_embedding.patch_embeddings") != std::string::npos) {
      std::printf("  MONAI       ViT/UNETR names; MONAI >= 1.4 models also hold never-used cross-attention weights, "
                  "so load with strict=False and check that only *cross_attn* keys are reported missing\n");
      break;
    }
  if (!a.list)
    std::printf("  python      sd = torch.load('%s', weights_only=True); model.load_state_dict(sd)\n", a.out.c_str());
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
