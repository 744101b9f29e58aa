#pragma once
// The weights transfer: a weights file (any format read_weights_file reads) into a model that may differ from the one
// that wrote it: other names (transfer_names.h), another input-channel count or 2D kernels for a 3D model
// (transfer_adapt.h), another head, or only its encoder. What `--init-weights FILE` (pretrain, finetune) and
// `--pretrained RUN` (finetune) run.
//
// Every model tensor ends up in one of four lists, and every file tensor in one of the first three:
//   matched   the file's tensor, same shape (after name mapping)
//   adapted   the file's tensor reshaped by a rule (how)
//   skipped   a file tensor not used, and why (not in the model, MONAI's unused cross-attention, another shape
//             outside the pretrained part, a second file tensor for the same model tensor)
//   missing   a model tensor the file did not provide; it keeps its fresh initialisation (why)
// The model's "pretrained part" (TransferOptions::pretrained_prefix: its encoder) must be filled: a tensor of it
// with a shape no rule adapts is an error naming the file, the tensor and both shapes; fewer loaded tensors of it than
// `min_match` (a fraction, default 1 = all) is an error listing the missing ones. Outside that part (decoder, head)
// a tensor of another shape is skipped and the model's keeps its initialisation (a head for another class count is
// re-initialised). Zero loaded tensors is always an error, and so is a NaN or inf in any tensor that would be loaded.
// Everything is checked before the model is touched: on an error the model is unchanged.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "medssl/core/torch_pch.h"
#include "medssl/weights/weights_file.h"

namespace medssl::weights {

struct TransferOptions {
  std::string pretrained_prefix;  ///< the model's part that must be loaded ("encoder.", "swinViT.", "vit."; "" = all)
  std::vector<std::string> maps;  ///< user name maps "OLD=NEW" (--map), applied in order
  double min_match = 1.0;         ///< fraction of the pretrained part's tensors that must be loaded, in [0, 1]
  int64_t in_channels = -1;       ///< the model's input channels (first-layer channel rule); < 0: rule off
  std::string entry;              ///< which nested state dict of a torch.save file (--entry); "" = decide
  std::string label = "transfer"; ///< how the caller names the source in messages ("--init-weights", ...)
};

struct TransferReport {
  struct Loaded {
    std::string target, source;
    std::string renamed;  ///< the name steps from source to target ("" = same name)
    std::string how;      ///< adapted tensors: the rule that reshaped it
    std::vector<int64_t> shape, file_shape;
  };
  struct Skipped {
    std::string source, why;
    std::vector<int64_t> shape;
  };
  struct Missing {
    std::string target, why;
    std::vector<int64_t> shape;
  };
  std::string file, source;  ///< the path and WeightsFile::description()
  std::string pretrained_prefix;
  size_t model_tensors = 0, pretrained_tensors = 0, pretrained_loaded = 0;
  double min_match = 1.0;
  std::vector<Loaded> matched, adapted;
  std::vector<Skipped> skipped;
  std::vector<Missing> missing;
  nlohmann::json manifest;  ///< the file's manifest (null if none)

  /// The transfer.json document: file, counts, every list, the name maps used.
  nlohmann::json to_json() const;
  /// A few lines for the log: counts, then the skipped / missing / adapted tensors (the first few of each).
  std::string summary() const;
};

/// Loads `file` into `model` (parameters and buffers; dtype converted, device kept) as described above.
TransferReport transfer_weights(torch::nn::Module& model, const WeightsFile& file, const TransferOptions& options);
/// Reads `path` (with options.entry) and transfers it.
TransferReport transfer_weights(torch::nn::Module& model, const std::string& path, const TransferOptions& options);

/// Writes report.to_json() (plus `extra` keys, e.g. the preprocessing contract) to `path` atomically.
void write_transfer_json(const TransferReport& report, const std::string& path,
                         const nlohmann::json& extra = nlohmann::json::object());

}  // namespace medssl::weights
