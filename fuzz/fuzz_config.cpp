// libFuzzer target: the config parser and validator. The input, up to its first NUL byte, is a config file; every
// further NUL-separated part is a `--set key=value` override. It is validated against the study schema (then the
// study's methods and stage configs are resolved, as `medssl study` does before running anything) and against a
// schema with a key of every type, range and choice list.
#include "fuzz_support.h"
#include "medssl/config/config.h"
#include "medssl/study/study_schema.h"

namespace {

const medssl::config::Schema& every_type_schema() {
  using medssl::config::Type;
  static const medssl::config::Schema schema = [] {
    medssl::config::Schema s("fuzz");
    s.key("flag", Type::boolean, false, "a boolean");
    s.key("count", Type::integer, 3, "an integer in 1..100");
    s.range("count", 1, 100);
    s.key("rate", Type::number, 0.5, "a number in (0, 1]");
    s.range("rate", 1e-12, 1);
    s.key("mode", Type::string, "fast", "one of fast, slow");
    s.choices("mode", {"fast", "slow"});
    s.key("sizes", Type::int_list, nlohmann::json::array({1, 2}), "integers >= 0");
    s.range("sizes", 0, std::nullopt);
    s.key("weights", Type::number_list, nlohmann::json::array({1.0}), "numbers");
    s.key("names", Type::string_list, nlohmann::json::array(), "strings");
    s.key("nested", Type::object, nlohmann::json::object(), "an object");
    s.required("path", Type::string, "a required string");
    s.optional("extra", Type::any, "anything");
    s.ignored("legacy", "kept for compatibility");
    return s;
  }();
  return schema;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  medssl::fuzz::init_target();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace medssl;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t end = input.find('\0');
  const std::string path = fuzz::scratch_file("config.json");
  fuzz::write_bytes(path, input.substr(0, end));
  std::vector<std::string> sets;
  while (end != std::string_view::npos && sets.size() < 16) {
    const size_t next = input.find('\0', end + 1);
    sets.emplace_back(input.substr(end + 1, next == std::string_view::npos ? std::string_view::npos : next - end - 1));
    end = next;
  }
  fuzz::run_one([&] {
    const config::Config study = config::load(path, study::study_schema(), sets);
    for (const auto& method : study::study_methods(study)) study::method_pretrain_config(study, method);
    study::stage_config(study, "finetune_config", "finetune");
  });
  fuzz::run_one([&] {
    const config::Config c = config::load(path, every_type_schema(), sets);
    const int64_t count = c.get<int64_t>("count");
    fuzz::require(count >= 1 && count <= 100, "validated integer in range");
    const double rate = c.get<double>("rate");
    fuzz::require(rate >= 1e-12 && rate <= 1, "validated number in range");
    for (int64_t s : c.get<std::vector<int64_t>>("sizes")) fuzz::require(s >= 0, "validated list in range");
    c.get<std::vector<double>>("weights");
    c.get<std::vector<std::string>>("names");
    c.get<bool>("flag");
    fuzz::require(c.get<std::string>("mode") == "fast" || c.get<std::string>("mode") == "slow", "a valid choice");
    c.get<std::string>("path");
  });
  return 0;
}
