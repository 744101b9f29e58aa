// `medssl predict --model DIR --in CASE.nii.gz|FOLDER --out SEG.nii.gz|FOLDER`: apply a finetuned model to new images.
#include <iostream>

#include "medssl/cli/command.h"
#include "medssl/core/atomic_file.h"
#include "medssl/core/log.h"
#include "medssl/finetune/predict.h"

namespace medssl::cli {
namespace {

struct PredictArgs {
  finetune::PredictRequest request;
  std::string summary;
};

MEDSSL_COMMAND("predict", [](CLI::App& app) {
  static PredictArgs a;
  auto& r = a.request;
  auto* cmd = app.add_subcommand("predict", "Apply a finetuned model to new images: label maps with the input's "
                                            "geometry (segmentation) or grades as CSV (classification)");
  cmd->add_option("--model", r.model_dir, "folder with model.json + model.pt (a finetune --out folder)")->required();
  cmd->add_option("--in", r.input, "a NIfTI volume / picture, or a folder of them (CASE_0000, CASE_0001, ... files "
                                   "are the channels of CASE)")->required();
  cmd->add_option("--out", r.output, "output file (one input: SEG.nii.gz / SEG.png / GRADES.csv) or folder")->required();
  cmd->add_option("--blend", r.blend, "sliding-window blending: gaussian (default) | constant")
      ->check(CLI::IsMember({"gaussian", "constant"}));
  cmd->add_option("--overlap", r.overlap, "sliding-window overlap in [0, 1) (default: the model's)");
  cmd->add_option("--batch-size", r.batch_size, "windows or slices per forward pass")->check(CLI::PositiveNumber);
  cmd->add_option("--device", r.device, "cpu | cuda | cuda:N");
  cmd->add_flag("--overwrite", r.overwrite, "redo cases whose output exists (default: skip them, so a batch resumes)");
  cmd->add_option("--summary", a.summary, "also write the per-case summary JSON here");
  cmd->add_flag("--strict-contract", r.strict_contract, "an input that differs from the model's preprocessing contract "
                "(voxel spacing of a model that does not resample, axis convention) is an error, not a warning");
  cmd->callback([] {
    apply_global_options();
    auto result = finetune::run_prediction(a.request);
    for (const auto& c : result["cases"]) {
      if (result["task"] == "segmentation") {
        std::cout << fmt::format("{:<28} {}", c["id"].get<std::string>(), c["output"].get<std::string>());
        if (c.contains("voxels_per_class")) std::cout << "  voxels per class " << c["voxels_per_class"].dump();
        if (c.value("skipped", false)) std::cout << "  (exists, skipped)";
        std::cout << "\n";
      } else {
        std::cout << fmt::format("{:<28} grade {}\n", c["id"].get<std::string>(), c["predicted"].get<int64_t>());
      }
    }
    if (result.contains("output")) log::info("wrote {}", result["output"].get<std::string>());
    if (!a.summary.empty()) write_file_atomic(a.summary, result.dump(2) + "\n");
  });
});

}  // namespace
}  // namespace medssl::cli
