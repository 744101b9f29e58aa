// `medssl demo`: the embedded default, what `make demo` runs. It makes its own data and runs the main job of medssl on
// it: synthesise an MSD-layout CT phantom data set (labelled + unlabelled), validate it with the real reader, and run
// the reduced data-efficiency study of configs/studies/demo.json (embedded in the binary): pretrain rotation and rpl,
// finetune a 3D UNet from each and from scratch at 10/25/100 % of the labels with 2 repetitions, and write the
// results table, report and plot. Rerunning resumes (finished runs are kept).
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "medssl/cli/command.h"
#include "medssl/cli/demo_study.h"
#include "medssl/config/config.h"
#include "medssl/core/log.h"
#include "medssl/core/progress.h"
#include "medssl/data/layouts/dataset_index.h"
#include "medssl/data/synth/synth.h"
#include "medssl/study/results_table.h"
#include "medssl/study/study.h"
#include "medssl/study/study_schema.h"

namespace medssl::cli {
namespace {

struct DemoArgs {
  std::string out = "demo-out";
  int labelled = 40, unlabelled = 60, size = 64;
  uint64_t seed = 0;
  std::vector<std::string> sets;
};

void print_summary(const std::string& results_csv) {
  const auto summary = study::summarize(study::read_results_csv(results_csv));
  std::printf("\n%-12s %9s %-10s %3s %9s %9s\n", "method", "labelled", "metric", "n", "mean", "std");
  for (const auto& row : summary)
    if (row.metric == "dice")
      std::printf("%-12s %8s%% %-10s %3d %9.4f %9.4f\n", row.method.c_str(), study::format_percent(row.fraction).c_str(),
                  row.metric.c_str(), row.n, row.mean, row.std);
}

MEDSSL_COMMAND("demo", [](CLI::App& app) {
  static DemoArgs a;
  auto* cmd = app.add_subcommand("demo", "Run the embedded default study on synthetic CT (what `make demo` runs)");
  cmd->add_option("--out", a.out, "output folder")->capture_default_str();
  cmd->add_option("--labelled", a.labelled, "labelled CT phantoms")->capture_default_str()->check(CLI::Range(10, 10000));
  cmd->add_option("--unlabelled", a.unlabelled, "unlabelled CT phantoms")->capture_default_str()->check(CLI::Range(0, 100000));
  cmd->add_option("--size", a.size, "CT in-plane size")->capture_default_str()->check(CLI::Range(16, 512));
  cmd->add_option("--seed", a.seed, "random seed of the phantoms")->capture_default_str();
  cmd->add_option("--set", a.sets, "override a key of the demo study, e.g. repetitions=1 (repeatable)");
  cmd->callback([] {
    apply_global_options();
    Stopwatch total;
    const std::string ct_dir = a.out + "/data/SynthPancreas";
    if (!std::filesystem::exists(ct_dir + "/dataset.json")) {
      log::info("[1/3] synthesising {} labelled + {} unlabelled CT phantoms at {}^2 -> {}", a.labelled, a.unlabelled,
                a.size, ct_dir);
      synth::write_ct3d({ct_dir, a.labelled, a.unlabelled, a.size, a.seed});
    } else {
      log::info("[1/3] reusing the phantoms in {}", ct_dir);
    }
    log::info("[2/3] validating the data set with the MSD reader (headers, shapes, label values)");
    auto ct = data::open_dataset(ct_dir, {/*check_headers=*/true});

    log::info("[3/3] the data-efficiency study of configs/studies/demo.json -> {}/study", a.out);
    nlohmann::json doc = nlohmann::json::parse(kDemoStudyJson);
    doc["data_dir"] = ct_dir;
    config::apply_overrides(doc, a.sets);
    study::StudyRequest request;
    request.config = config::validate(doc, study::study_schema(), "demo study (configs/studies/demo.json)");
    request.out_dir = a.out + "/study";
    const auto s = study::run_study(request);

    print_summary(s["results"].get<std::string>());
    std::printf("\nmedssl demo finished in %s\n", Progress::format_duration(total.seconds()).c_str());
    std::printf("  data     %s: %zu labelled + %zu unlabelled phantoms (%s layout)\n", ct_dir.c_str(),
                ct.training.size(), ct.test.size() + ct.unlabelled.size(), ct.layout.c_str());
    std::printf("  results  %s, %s\n", s["results"].get<std::string>().c_str(), s["summary"].get<std::string>().c_str());
    std::printf("  report   %s\n", s["report"].get<std::string>().c_str());
    std::printf("  plot     %s\n", s["plot"].get<std::string>().empty() ? "(none)" : s["plot"].get<std::string>().c_str());
  });
});

}  // namespace
}  // namespace medssl::cli
