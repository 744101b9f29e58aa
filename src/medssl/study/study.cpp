#include "medssl/study/study.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <map>
#include <set>

#include "medssl/core/atomic_file.h"
#include "medssl/core/error.h"
#include "medssl/core/log.h"
#include "medssl/core/progress.h"
#include "medssl/core/version.h"
#include "medssl/data/cache/prepare.h"
#include "medssl/finetune/finetune.h"
#include "medssl/finetune/finetune_schema.h"
#include "medssl/pretext/pretrain.h"
#include "medssl/study/efficiency_plot.h"
#include "medssl/study/report.h"
#include "medssl/study/results_table.h"
#include "medssl/study/study_schema.h"
#include "medssl/tensor/threads.h"
#include "torch/version.h"

namespace medssl::study {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::string cell_dir_name(double fraction, int repetition) {
  return fmt::format("f{}_r{}", format_percent(fraction), repetition);
}

namespace {

struct Cell {
  const MethodSpec* method;
  double fraction;
  int repetition;
};

// --only "method=rotation,baseline,fraction=10": a comma starts a new value, "key=" a new key.
std::map<std::string, std::set<std::string>> parse_only(const std::vector<std::string>& only) {
  std::map<std::string, std::set<std::string>> filters;
  for (const auto& text : only) {
    std::string key;
    size_t start = 0;
    while (start <= text.size()) {
      size_t comma = text.find(',', start);
      std::string piece = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      start = comma == std::string::npos ? text.size() + 1 : comma + 1;
      if (piece.empty()) continue;
      auto eq = piece.find('=');
      if (eq != std::string::npos) {
        key = piece.substr(0, eq);
        piece = piece.substr(eq + 1);
        check(key == "method" || key == "fraction" || key == "repetition",
              "--only: unknown key \"{}\" in \"{}\" (method, fraction, repetition)", key, text);
      }
      check(!key.empty(), "--only: \"{}\" must start with method=, fraction= or repetition=", text);
      filters[key].insert(piece);
    }
  }
  return filters;
}

bool selected(const std::map<std::string, std::set<std::string>>& filters, const Cell& cell) {
  auto match = [&](const std::string& key, const std::string& value, const std::function<bool(const std::string&)>& eq) {
    auto it = filters.find(key);
    if (it == filters.end()) return true;
    for (const auto& v : it->second)
      if (v == value || eq(v)) return true;
    return false;
  };
  auto same_number = [](double x) {
    return [x](const std::string& v) {
      try {
        return std::abs(std::stod(v) - x) < 1e-9;
      } catch (...) {
        return false;
      }
    };
  };
  return match("method", cell.method->name, [](const std::string&) { return false; }) &&
         match("fraction", format_percent(cell.fraction), same_number(cell.fraction)) &&
         match("repetition", std::to_string(cell.repetition), same_number(cell.repetition));
}

std::string short_hash(const std::string& text) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a: stable across runs and platforms (std::hash is not)
  for (unsigned char ch : text) h = (h ^ ch) * 1099511628211ull;
  return fmt::format("{:08x}", static_cast<uint32_t>(h ^ (h >> 32)));
}

// One prepared cache per (data set, preprocessing, size): methods whose overrides change the preprocessing get
// their own; everything else shares it.
std::string cache_dir_for(const std::string& out, const std::string& stage, const config::Config& c) {
  const std::string key = c.get<std::string>("data_dir") + "|" + c.raw().at("prepare").dump() + "|" +
                          std::to_string(c.get<int64_t>("data_dim"));
  return fmt::format("{}/cache/{}_{}_{}", out, stage, c.get<int64_t>("data_dim"), short_hash(key));
}

config::Config pretrain_config_of(const json& base, const MethodSpec& m, const std::string& data_dir,
                                  const std::string& source) {
  json doc = base;
  for (const auto& [k, v] : m.overrides.items()) doc[k] = v;
  doc["algorithm"] = m.algorithm;
  if (!data_dir.empty()) doc["data_dir"] = data_dir;
  return config::validate(doc, pretext::pretrain_schema(), source + " (method " + m.name + ", pretraining)");
}

config::Config finetune_config_of(const json& base, const MethodSpec& m, const std::string& data_dir,
                                  const std::string& source) {
  json doc = base;
  for (const auto& [k, v] : m.finetune_overrides.items()) doc[k] = v;
  if (!data_dir.empty()) doc["data_dir"] = data_dir;
  return config::validate(doc, finetune::finetune_schema(), source + " (method " + m.name + ", finetuning)");
}

// A run folder holds a finished run (summary file), a resumable one (checkpoints/last.pt), or a dead start.
enum class RunState { finished, resumable, fresh };
RunState run_state(const std::string& dir, const std::string& summary_file) {
  if (fs::exists(dir + "/" + summary_file)) return RunState::finished;
  if (fs::exists(dir + "/checkpoints/last.pt")) return RunState::resumable;
  if (fs::exists(dir)) fs::remove_all(dir);  // started but never checkpointed: nothing worth keeping
  return RunState::fresh;
}

double number_or_nan(const json& v) { return v.is_number() ? v.get<double>() : std::nan(""); }

// The rows one finished finetuning contributes to results.csv.
std::vector<ResultRow> rows_of(const json& s, const Cell& cell, const std::vector<std::string>& metrics) {
  static const std::map<std::string, std::string> summary_key = {
      {"dice", "mean_dice"},           {"jaccard", "mean_jaccard"},         {"reference_dice", "reference_dice"},
      {"qw_kappa", "qw_kappa"},        {"accuracy", "accuracy"},
      {"dice_with_background", "mean_dice_with_background"}};
  const std::string task = s.value("task", "segmentation");
  std::vector<ResultRow> rows;
  auto add = [&](const std::string& metric, double value) {
    rows.push_back({cell.method->name, cell.fraction, cell.repetition, metric, value});
  };
  for (std::string m : metrics) {
    if (m == "auto") m = task == "classification" ? "qw_kappa" : "dice";
    const std::string key = summary_key.at(m);
    add(m, number_or_nan(s["test_final"]["summary"].value(key, json())));
    add(m + "_best_val", number_or_nan(s["test_best_val_checkpoint"]["summary"].value(key, json())));
  }
  add(s.value("validation_metric", std::string("val")) + "_curve_mean",
      number_or_nan(s["learning_curve_mean"].value("value", json())));
  return rows;
}

std::string libtorch_version() {
  return fmt::format("{}.{}.{}", TORCH_VERSION_MAJOR, TORCH_VERSION_MINOR, TORCH_VERSION_PATCH);
}

std::vector<StageTiming> read_timings(const std::string& path) {
  std::vector<StageTiming> out;
  if (!fs::exists(path)) return out;
  for (const auto& t : config::read_json_file(path)) out.push_back({t.at("stage"), t.at("seconds")});
  return out;
}

void write_timings(const std::string& path, const std::vector<StageTiming>& timings) {
  json j = json::array();
  for (const auto& t : timings) j.push_back({{"stage", t.stage}, {"seconds", t.seconds}});
  write_file_atomic(path, j.dump(2) + "\n");
}

// A study folder belongs to one configuration: rerunning with other stage settings would mix incomparable runs.
void check_same_settings(const std::string& path, const json& settings) {
  if (!fs::exists(path)) return;
  const json stored = config::read_json_file(path);
  if (stored == settings) return;
  std::vector<std::string> changed;
  for (const auto& [k, v] : settings.items())
    if (!stored.contains(k) || stored[k] != v) changed.push_back(k);
  fail("{} holds a study run with other settings (changed: {}); use another --out, or restore the config",
       path, fmt::join(changed, ", "));
}

}  // namespace

json run_study(const StudyRequest& request) {
  const config::Config& c = request.config;
  const std::string out = request.out_dir, source = c.source().empty() ? "study config" : c.source();
  check(!out.empty(), "study: --out DIR is required");
  const auto methods = study_methods(c);
  const auto metrics = c.get<std::vector<std::string>>("metrics");
  auto dir_of = [&](const std::string& key) {
    return c.has(key) ? c.get<std::string>(key) : c.has("data_dir") ? c.get<std::string>("data_dir") : std::string();
  };
  const std::string pretrain_data = dir_of("pretrain_data_dir"), finetune_data = dir_of("finetune_data_dir");
  const json pretrain_base = stage_config(c, "pretrain_config", "pretrain");
  const json finetune_base = stage_config(c, "finetune_config", "finetune");
  // The reference loops over its finetune config's exp_splits x repetitions; a study without its own fractions /
  // repetitions does the same (the finetune schema checks their ranges).
  MethodSpec every_method;
  every_method.name = "every method";
  const config::Config finetune_checked = finetune_config_of(finetune_base, every_method, finetune_data, source);
  const auto fractions = c.has("fractions")                ? c.get<std::vector<double>>("fractions")
                         : finetune_base.contains("exp_splits") ? finetune_checked.get<std::vector<double>>("exp_splits")
                                                                : std::vector<double>{5, 10, 25, 50, 100};
  const int repetitions = c.has("repetitions")                ? c.get<int>("repetitions")
                          : finetune_base.contains("repetitions") ? finetune_checked.get<int>("repetitions")
                                                                  : 1;

  // Every run's config is validated before anything runs: a typo fails in a second, not after hours of pretraining.
  std::map<std::string, config::Config> pretrain_cfg, finetune_cfg;
  for (const auto& m : methods) {
    if (!m.is_baseline() && m.pretrained.empty())
      pretrain_cfg.emplace(m.name, pretrain_config_of(m.config.is_null() ? pretrain_base : method_pretrain_config(c, m),
                                                      m, pretrain_data, source));
    finetune_cfg.emplace(m.name, finetune_config_of(finetune_base, m, finetune_data, source));
  }
  const auto filters = parse_only(request.only);
  std::vector<Cell> cells, todo;
  for (const auto& m : methods)
    for (double f : fractions)
      for (int r = 0; r < repetitions; ++r) cells.push_back({&m, f, r});
  for (const auto& cell : cells)
    if (selected(filters, cell)) todo.push_back(cell);
  check(!todo.empty() || request.only.empty(), "--only selects no cell of the study");

  fs::create_directories(out);
  json settings = {{"pretrain", json::object()}, {"finetune", json::object()}, {"metrics", metrics}};
  for (const auto& [name, cfg] : pretrain_cfg) settings["pretrain"][name] = cfg.raw();
  for (const auto& [name, cfg] : finetune_cfg) settings["finetune"][name] = cfg.raw();
  check_same_settings(out + "/study.json", settings);
  write_file_atomic(out + "/study.json", settings.dump(2) + "\n");
  write_file_atomic(out + "/study_config.json", c.raw().dump(2) + "\n");
  auto timings = read_timings(out + "/timings.json");
  auto record = [&](const std::string& stage, double seconds) {
    timings.push_back({stage, seconds});
    write_timings(out + "/timings.json", timings);
  };

  // Stage 1: prepare each distinct (data, preprocessing, size) once; every run then reads the shared cache.
  std::set<std::string> needed_methods;
  for (const auto& cell : todo) needed_methods.insert(cell.method->name);
  auto prepare = [&](config::Config& cfg, const std::string& stage) {
    const std::string dir = cache_dir_for(out, stage, cfg);
    cfg.raw()["cache_dir"] = dir;
    if (cache::is_cache_dir(cfg.get<std::string>("data_dir"))) return;
    Stopwatch watch;
    const bool fresh = !fs::exists(dir + "/cache.json");
    cache::open_or_prepare_cache(cfg.get<std::string>("data_dir"), dir, cfg.raw().at("prepare"),
                                 cfg.get<int64_t>("data_dim"));
    if (fresh) record("prepare " + stage + " " + fs::path(dir).filename().string(), watch.seconds());
  };
  for (auto& [name, cfg] : pretrain_cfg)
    if (needed_methods.count(name)) prepare(cfg, "pretrain");
  for (auto& [name, cfg] : finetune_cfg)
    if (needed_methods.count(name)) prepare(cfg, "finetune");

  // The test cases stay out of the pretraining too, so the report can call them held out: when both stages read the
  // same data set, each method's pretraining excludes the cases its finetuning tests on. Not possible with
  // cross-validation (every case is tested once) or for a pretraining made outside the study; the report says which.
  std::vector<std::string> saw_test_images;
  for (const auto& m : methods) {
    if (m.is_baseline() || !needed_methods.count(m.name)) continue;
    const config::Config& ft = finetune_cfg.at(m.name);
    std::vector<std::string> test_ids;
    if (pretrain_cfg.count(m.name) && pretrain_data == finetune_data)
      test_ids = finetune::held_out_test_cases(ft);
    if (test_ids.empty()) {
      if (!pretrain_cfg.count(m.name) || pretrain_data == finetune_data) saw_test_images.push_back(m.name);
      continue;
    }
    json& excluded = pretrain_cfg.at(m.name).raw()["exclude_cases"];
    for (const auto& id : test_ids)
      if (std::find(excluded.begin(), excluded.end(), json(id)) == excluded.end()) excluded.push_back(id);
  }

  int64_t pretrain_todo = 0;
  for (const auto& m : methods)
    if (pretrain_cfg.count(m.name) && needed_methods.count(m.name) &&
        !fs::exists(out + "/pretrain/" + m.name + "/pretrain.json"))
      ++pretrain_todo;
  Progress progress("study", pretrain_todo + static_cast<int64_t>(todo.size()), "runs", 0.0);
  int64_t runs_done = 0;
  auto announce = [&](const std::string& what) {
    log::info("[study {}/{}] {}", runs_done + 1, pretrain_todo + static_cast<int64_t>(todo.size()), what);
  };

  // Stage 2: pretrain each method once (resuming a killed pretraining).
  std::map<std::string, std::string> pretrained_dir;
  for (const auto& m : methods) {
    if (m.is_baseline()) continue;
    if (!m.pretrained.empty()) {
      pretrained_dir[m.name] = m.pretrained;
      continue;
    }
    const std::string dir = out + "/pretrain/" + m.name;
    pretrained_dir[m.name] = dir;
    if (!needed_methods.count(m.name)) continue;
    const RunState state = run_state(dir, "pretrain.json");
    if (state == RunState::finished) continue;
    announce(fmt::format("pretrain {} ({}){}", m.name, m.algorithm, state == RunState::resumable ? ", resuming" : ""));
    Stopwatch watch;
    pretext::PretrainRequest pr;
    pr.config = pretrain_cfg.at(m.name);
    pr.out_dir = dir;
    pr.resume = state == RunState::resumable;
    pretext::run_pretraining(pr);
    record("pretrain " + m.name, watch.seconds());
    progress.advance(1, "pretrained " + m.name);
    ++runs_done;
  }

  // Stage 3: finetune every selected (method, fraction, repetition).
  int64_t cells_run = 0;
  for (const auto& cell : todo) {
    const std::string dir = out + "/finetune/" + cell.method->name + "/" + cell_dir_name(cell.fraction, cell.repetition);
    const RunState state = run_state(dir, "finetune.json");
    if (state == RunState::finished) {
      progress.advance(1, "done earlier: " + cell.method->name);
      ++runs_done;
      continue;
    }
    const std::string what = fmt::format("{} {}% rep {}", cell.method->name, format_percent(cell.fraction),
                                         cell.repetition);
    announce("finetune " + what + (state == RunState::resumable ? ", resuming" : ""));
    Stopwatch watch;
    finetune::FinetuneRequest fr;
    fr.config = finetune_cfg.at(cell.method->name);
    fr.pretrained = cell.method->is_baseline() ? "none" : pretrained_dir.at(cell.method->name);
    fr.fraction = cell.fraction;
    fr.repetition = cell.repetition;
    fr.out_dir = dir;
    fr.resume = state == RunState::resumable;
    finetune::run_finetuning(fr);
    record("finetune " + what, watch.seconds());
    progress.advance(1, what);
    ++runs_done;
    ++cells_run;
  }
  progress.finish();

  // Stage 4: results from every finished cell of the study (also those of earlier, partial invocations).
  std::vector<ResultRow> rows;
  std::vector<std::string> notes;
  int64_t missing = 0;
  for (const auto& cell : cells) {
    const std::string file = out + "/finetune/" + cell.method->name + "/" +
                             cell_dir_name(cell.fraction, cell.repetition) + "/finetune.json";
    if (!fs::exists(file)) {
      ++missing;
      notes.push_back(fmt::format("not run yet: {} {}% repetition {}", cell.method->name, format_percent(cell.fraction),
                                  cell.repetition));
      continue;
    }
    for (auto& row : rows_of(config::read_json_file(file), cell, metrics)) rows.push_back(std::move(row));
  }
  std::vector<std::string> order;
  for (const auto& m : methods) order.push_back(m.name);
  write_results_csv(out + "/results.csv", rows, order);
  const auto summary = summarize(rows, order);
  write_summary_csv(out + "/summary.csv", summary);

  std::string plot_png;
  if (request.plot && !rows.empty()) {
    const std::string metric = rows.front().metric;  // the first requested test metric (rows_of's order)
    if (gnuplot_available()) {
      plot_efficiency(summary, metric, order, c.get<std::string>("name") + ": " + metric + " on held-out test cases",
                      out + "/efficiency.png", out + "/efficiency.svg");
      plot_png = out + "/efficiency.png";
    } else {
      notes.push_back("no plot: gnuplot is not installed (apt-get install gnuplot-nox)");
      log::warn("study: gnuplot not found; efficiency.png/svg not drawn (apt-get install gnuplot-nox)");
    }
  }
  ReportInputs report;
  report.study_name = c.get<std::string>("name");
  report.config = c.raw();
  report.summary = summary;
  report.rows = rows;
  report.method_order = order;
  report.timings = timings;
  report.machine = probe_machine();
  report.notes.push_back(fmt::format("LibTorch intra-op threads: {}", torch_threads()));
  report.libtorch_version = libtorch_version();
  report.notes.insert(report.notes.end(), notes.begin(), notes.end());
  report.pretraining_saw_test_images = saw_test_images;
  if (plot_png.empty()) report.plot_png = report.plot_svg = "";
  const std::string report_path = write_report(out, report);

  return {{"results", out + "/results.csv"}, {"summary", out + "/summary.csv"}, {"report", report_path},
          {"plot", plot_png},                {"cells", cells.size()},            {"cells_run", cells_run},
          {"cells_missing", missing}};
}

}  // namespace medssl::study
