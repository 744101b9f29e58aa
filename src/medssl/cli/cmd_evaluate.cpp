// `medssl evaluate --model DIR --dataset DATA_OR_CACHE [--split S] [--out FILE.json]`: score a finetuned model.
#include <filesystem>
#include <iostream>

#include "medssl/cli/command.h"
#include "medssl/core/atomic_file.h"
#include "medssl/core/log.h"
#include "medssl/finetune/evaluate_run.h"

namespace medssl::cli {
namespace {

struct EvaluateArgs {
  std::string model, dataset, split = "finetune_test", out, cache_dir;
  bool no_hd95 = false;
};

std::string cell(const nlohmann::json& v) {
  if (v.is_number_float()) return fmt::format("{:.4f}", v.get<double>());
  if (v.is_null()) return "n/a";
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

// Per-case rows as CSV (and as the printed table): id, then the case's scalar scores.
std::vector<std::vector<std::string>> case_table(const nlohmann::json& result) {
  const bool seg = result["task"] == "segmentation";
  std::vector<std::vector<std::string>> rows;
  if (seg) {
    rows.push_back({"id", "dice", "dice_with_background", "jaccard", "dice_per_class", "hd95_per_class"});
    for (const auto& c : result["per_case"])
      rows.push_back({c["id"].get<std::string>(), cell(c["dice"]), cell(c["dice_with_background"]), cell(c["jaccard"]),
                      c["dice_per_class"].dump(), c.contains("hd95_per_class") ? c["hd95_per_class"].dump() : ""});
  } else {
    rows.push_back({"id", "grade", "predicted"});
    for (const auto& c : result["per_case"])
      rows.push_back({c["id"].get<std::string>(), cell(c["grade"]), cell(c["predicted"])});
  }
  return rows;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char ch : s) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return q + "\"";
}

MEDSSL_COMMAND("evaluate", [](CLI::App& app) {
  static EvaluateArgs a;
  auto* cmd = app.add_subcommand("evaluate", "Score a finetuned model (medssl finetune --out DIR) on a data set");
  cmd->add_option("--model", a.model, "folder with model.json + model.pt (a finetune --out folder)")->required();
  cmd->add_option("--dataset", a.dataset, "raw data set (prepared with the model's settings) or a prepare cache")
      ->required();
  cmd->add_option("--split", a.split, "finetune_test (cases the finetune run tested on) | test | training | all");
  cmd->add_option("--out", a.out, "result JSON (a .csv of the per-case rows is written next to it); default "
                                  "MODEL/evaluate_<split>.json");
  cmd->add_option("--cache-dir", a.cache_dir, "prepare a raw data set here (default: a temporary folder)");
  cmd->add_flag("--no-hd95", a.no_hd95, "skip the 95 % Hausdorff distance");
  cmd->callback([] {
    apply_global_options();
    finetune::EvaluateRequest request;
    request.model_dir = a.model;
    request.dataset = a.dataset;
    request.split = a.split;
    request.cache_dir = a.cache_dir;
    request.hd95 = !a.no_hd95;
    auto result = finetune::run_evaluation(request);
    const std::string out = a.out.empty() ? a.model + "/evaluate_" + a.split + ".json" : a.out;
    write_file_atomic(out, result.dump(2) + "\n");
    const auto rows = case_table(result);
    std::string csv;
    for (const auto& r : rows) {
      for (size_t i = 0; i < r.size(); ++i) csv += (i ? "," : "") + csv_field(r[i]);
      csv += "\n";
    }
    const std::string csv_path = std::filesystem::path(out).replace_extension(".csv").string();
    write_file_atomic(csv_path, csv);
    for (const auto& r : rows) {
      std::string line;
      for (size_t i = 0; i < r.size(); ++i) line += fmt::format(i == 0 ? "{:<28}" : " {:>12}", r[i]);
      std::cout << line << "\n";
    }
    std::cout << "summary:\n";
    for (const auto& [k, v] : result["summary"].items()) std::cout << fmt::format("  {:<32} {}\n", k, cell(v));
    log::info("wrote {} and {}", out, csv_path);
  });
});

}  // namespace
}  // namespace medssl::cli
