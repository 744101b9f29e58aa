// `medssl study --config configs/studies/<name>.json --out DIR [--set k=v]... [--only method=a,b,fraction=10]`:
// the data-efficiency study end to end (src/medssl/study/study.h). Rerunning the same command resumes it.
#include <cstdio>
#include <iostream>

#include "medssl/cli/command.h"
#include "medssl/config/config.h"
#include "medssl/core/atomic_file.h"
#include "medssl/core/log.h"
#include "medssl/core/progress.h"
#include "medssl/study/results_table.h"
#include "medssl/study/study.h"
#include "medssl/study/study_schema.h"

namespace medssl::cli {
namespace {

struct StudyArgs {
  std::string config_path, out;
  std::vector<std::string> sets, only;
  bool help_config = false, no_plot = false;
};

MEDSSL_COMMAND("study", [](CLI::App& app) {
  static StudyArgs a;
  auto* cmd = app.add_subcommand("study", "Pretrain each method, finetune at each label fraction, report and plot "
                                          "(rerun the same command to resume)");
  cmd->add_option("--config", a.config_path, "study config (configs/studies/*.json)");
  cmd->add_option("--out", a.out, "study folder: results.csv, summary.csv, report.md, efficiency.png/svg, runs");
  cmd->add_option("--set", a.sets, "override a study key: key=value, e.g. finetune.epochs_random=2 (repeatable)");
  cmd->add_option("--only", a.only, "run a subset: method=NAME[,NAME],fraction=P[,P],repetition=R (repeatable)");
  cmd->add_flag("--no-plot", a.no_plot, "do not draw efficiency.png/svg");
  cmd->add_flag("--help-config", a.help_config, "print every study key with its default and exit");
  cmd->callback([] {
    if (a.help_config) {
      std::cout << study::study_schema().to_markdown();
      return;
    }
    apply_global_options();
    check(!a.out.empty(), "study: --out DIR is required");
    remove_stale_temp_files(a.out);  // litter of killed earlier runs in any of the study's folders
    check(!a.config_path.empty(), "study: --config FILE is required");
    Stopwatch watch;
    study::StudyRequest request;
    request.config = config::load(a.config_path, study::study_schema(), a.sets);
    request.out_dir = a.out;
    request.only = a.only;
    request.plot = !a.no_plot;
    const auto s = study::run_study(request);
    // The summary table: test metrics first, then (separately) learning-curve means.
    const auto summary = study::summarize(study::read_results_csv(s["results"].get<std::string>()));
    std::printf("\n%-24s %9s %-22s %3s %9s %9s\n", "method", "fraction", "metric", "n", "mean", "std");
    for (bool curve : {false, true})
      for (const auto& row : summary)
        if (study::is_curve_metric(row.metric) == curve && row.metric.find("_best_val") == std::string::npos)
          std::printf("%-24s %8s%% %-22s %3d %9.4f %9.4f\n", row.method.c_str(),
                      study::format_percent(row.fraction).c_str(), row.metric.c_str(), row.n, row.mean, row.std);
    std::printf("\nstudy finished in %s: %s\n  summary %s\n  report  %s\n  plot    %s\n",
                Progress::format_duration(watch.seconds()).c_str(), s["results"].get<std::string>().c_str(),
                s["summary"].get<std::string>().c_str(), s["report"].get<std::string>().c_str(),
                s["plot"].get<std::string>().empty() ? "(none)" : s["plot"].get<std::string>().c_str());
    if (s["cells_missing"].get<int64_t>() > 0)
      std::printf("  %lld cell(s) not run yet (--only); rerun without --only to complete the study\n",
                  static_cast<long long>(s["cells_missing"].get<int64_t>()));
  });
});

}  // namespace
}  // namespace medssl::cli
