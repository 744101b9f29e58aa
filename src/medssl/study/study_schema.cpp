#include "medssl/study/study_schema.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "medssl/core/error.h"

namespace medssl::study {

using config::Type;
using json = nlohmann::json;

const config::Schema& study_schema() {
  static const config::Schema schema = [] {
    config::Schema s("study");
    s.key("name", Type::string, "study", "the study's name (report and plot titles)");
    s.optional("data_dir", Type::string, "data set of both stages unless pretrain_data_dir / finetune_data_dir are given");
    s.optional("pretrain_data_dir", Type::string, "data the methods pretrain on (default data_dir)");
    s.optional("finetune_data_dir", Type::string, "labelled data for finetuning and testing (default data_dir)");
    s.required("methods", Type::any,
               "list of algorithm names (rotation, rpl, jigsaw, exemplar, cpc, ..., baseline) or objects "
               "{name, algorithm, config, overrides, finetune_overrides, pretrained}");
    s.optional("fractions", Type::number_list,
               "label fractions in percent; default: the finetune config's exp_splits (the reference's key) if it "
               "sets them, else [5, 10, 25, 50, 100]");
    s.range("fractions", 1e-9, 100);
    s.optional("repetitions", Type::integer,
               "finetuning repetitions per method and fraction (or folds); default: the finetune config's "
               "repetitions if it sets them, else 1");
    s.range("repetitions", 1, 1000);
    s.key("metrics", Type::string_list, json::array({"auto"}),
          "test metrics per run: auto (dice for segmentation, qw_kappa for classification), dice, jaccard, "
          "dice_with_background, reference_dice, qw_kappa, accuracy");
    s.key("pretrain_config", Type::any, json::object(), "pretrain config of every method without its own \"config\": a file (configs/pretrain/*.json) or an inline object");
    s.required("finetune_config", Type::any, "finetune config: a file (configs/finetune/*.json) or an inline object");
    s.key("pretrain", Type::object, json::object(), "overrides applied to every pretraining (e.g. epochs)");
    s.key("finetune", Type::object, json::object(), "overrides applied to every finetuning (e.g. epochs_random)");
    s.optional("_doc", Type::any, "free text: where the data comes from, how to run the study");
    return s;
  }();
  return schema;
}

const std::vector<std::string>& known_metrics() {
  static const std::vector<std::string> names = {"auto",          "dice",     "jaccard", "dice_with_background",
                                                 "reference_dice", "qw_kappa", "accuracy"};
  return names;
}

std::vector<MethodSpec> study_methods(const config::Config& study) {
  const json& list = study.raw().at("methods");
  const std::string where = study.source();
  check(list.is_array() && !list.empty(), "{}: \"methods\" must be a non-empty list", where);
  static const std::set<std::string> fields = {"name",     "algorithm",          "config",
                                             "overrides", "finetune_overrides", "pretrained"};
  std::vector<MethodSpec> out;
  std::set<std::string> names;
  for (size_t i = 0; i < list.size(); ++i) {
    const json& e = list[i];
    MethodSpec m;
    if (e.is_string()) {
      m.name = m.algorithm = e.get<std::string>();
    } else {
      check(e.is_object(), "{}: methods[{}] must be a name or an object", where, i);
      for (const auto& [k, v] : e.items()) {
        std::vector<std::string> known(fields.begin(), fields.end());
        check(fields.count(k) > 0, "{}: methods[{}]: unknown field \"{}\"{}", where, i, k,
              config::closest_match(k, known).empty() ? ""
                                                      : " (did you mean \"" + config::closest_match(k, known) + "\"?)");
        (void)v;
      }
      check(e.contains("algorithm") && e["algorithm"].is_string(), "{}: methods[{}] needs \"algorithm\" (a string)",
            where, i);
      m.algorithm = e["algorithm"].get<std::string>();
      // json::value() throws nlohmann's type_error for a field of another type: check it here and name the field.
      auto string_field = [&](const char* field, const std::string& fallback) {
        if (!e.contains(field)) return fallback;
        check(e[field].is_string(), "{}: methods[{}]: \"{}\" must be a string, found {}", where, i, field,
              e[field].type_name());
        return e[field].get<std::string>();
      };
      m.name = string_field("name", m.algorithm);
      m.overrides = e.value("overrides", json::object());
      m.finetune_overrides = e.value("finetune_overrides", json::object());
      m.pretrained = string_field("pretrained", "");
      if (e.contains("config")) m.config = e["config"];
      check(m.overrides.is_object() && m.finetune_overrides.is_object(),
            "{}: methods[{}] (\"{}\"): overrides must be objects", where, i, m.name);
    }
    check(!m.name.empty() && m.name.find_first_of("/,= \t") == std::string::npos,
          "{}: methods[{}]: the name \"{}\" must be non-empty, without '/', ',', '=' or spaces", where, i, m.name);
    check(names.insert(m.name).second, "{}: methods: \"{}\" appears twice (give each a distinct \"name\")", where,
          m.name);
    out.push_back(std::move(m));
  }
  for (const auto& metric : study.get<std::vector<std::string>>("metrics")) {
    const auto& known = known_metrics();
    check(std::find(known.begin(), known.end(), metric) != known.end(), "{}: metrics: unknown metric \"{}\" (known: {})",
          where, metric, fmt::format("{}", fmt::join(known, ", ")));
  }
  return out;
}

namespace {
json read_config_value(const json& v, const std::string& where) {
  if (v.is_string()) {
    const std::string path = v.get<std::string>();
    check(std::filesystem::is_regular_file(path), "{}: the config file \"{}\" does not exist", where, path);
    return config::read_json_file(path);
  }
  check(v.is_object(), "{}: must be a config file path or an object", where);
  return v;
}
}  // namespace

json stage_config(const config::Config& study, const std::string& key, const std::string& stage_key) {
  json doc = read_config_value(study.raw().at(key), study.source() + ": " + key);
  for (const auto& [k, value] : study.raw().at(stage_key).items()) doc[k] = value;
  return doc;
}

json method_pretrain_config(const config::Config& study, const MethodSpec& method) {
  if (method.config.is_null()) return stage_config(study, "pretrain_config", "pretrain");
  json doc = read_config_value(method.config, study.source() + ": method " + method.name + ": config");
  for (const auto& [k, value] : study.raw().at("pretrain").items()) doc[k] = value;
  return doc;
}

}  // namespace medssl::study
