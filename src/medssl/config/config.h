#pragma once
// Configs are JSON files (nlohmann-json) validated against a schema: every key a command understands is declared
// with its type, default, allowed range or values, and one line of documentation. Unknown keys are an error with a
// "did you mean" suggestion; wrong types and out-of-range values are errors naming the key and the file. Keys of the
// reference implementation's configs (algorithm, batch_size, lr, epochs, data_dim, patches_per_side, ...) are declared
// with the same meaning; keys the reference itself ignores are declared `ignored` (accepted with a warning).
// `--set key=value` overrides any key (dotted keys reach into objects; the value is parsed as JSON when it can be).
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace medssl::config {

using json = nlohmann::json;

enum class Type { boolean, integer, number, string, int_list, number_list, string_list, object, any };
std::string type_name(Type t);

struct KeySpec {
  std::string name;
  Type type = Type::any;
  json default_value;  ///< null = required unless `optional`
  std::string doc;
  std::optional<double> min, max;        ///< for numbers and every element of numeric lists
  std::vector<std::string> choices;      ///< allowed string values (empty = any)
  bool optional = false;                 ///< may be absent with no default (value stays null)
  bool ignored = false;                  ///< accepted for reference compatibility, has no effect (warns)
};

class Schema {
 public:
  explicit Schema(std::string name) : name_(std::move(name)) {}
  Schema& add(KeySpec spec);
  /// Convenience: key with a default.
  Schema& key(const std::string& name, Type type, json default_value, const std::string& doc);
  Schema& required(const std::string& name, Type type, const std::string& doc);
  Schema& optional(const std::string& name, Type type, const std::string& doc);
  Schema& range(const std::string& name, std::optional<double> min, std::optional<double> max);
  Schema& choices(const std::string& name, std::vector<std::string> values);
  Schema& ignored(const std::string& name, const std::string& why);
  /// Adds every key of another schema (e.g. shared trainer keys).
  Schema& include(const Schema& other);

  const std::string& name() const { return name_; }
  const std::vector<KeySpec>& keys() const { return keys_; }
  const KeySpec* find(const std::string& name) const;
  /// Markdown table of the keys (for docs/config-reference.md and `--help-config`).
  std::string to_markdown() const;

 private:
  std::string name_;
  std::vector<KeySpec> keys_;
};

/// A validated configuration: every declared key present (default filled in), nothing undeclared.
class Config {
 public:
  Config() = default;
  Config(json values, std::string source) : values_(std::move(values)), source_(std::move(source)) {}

  template <typename T>
  T get(const std::string& key) const {
    auto it = values_.find(key);
    if (it == values_.end() || it->is_null()) missing(key);
    return it->get<T>();
  }
  bool has(const std::string& key) const {
    auto it = values_.find(key);
    return it != values_.end() && !it->is_null();
  }
  const json& raw() const { return values_; }
  json& raw() { return values_; }
  const std::string& source() const { return source_; }

 private:
  [[noreturn]] void missing(const std::string& key) const;
  json values_;
  std::string source_;
};

/// Parses "key=value" pairs (from repeated --set) and applies them to `doc`. Values are parsed as JSON if possible
/// (numbers, true/false, lists, objects, quoted strings), otherwise taken as plain strings.
void apply_overrides(json& doc, const std::vector<std::string>& sets);

/// Validates `doc` against `schema`, fills defaults, and returns the Config. `source` names the file in messages.
Config validate(const json& doc, const Schema& schema, const std::string& source);

/// Reads a JSON config file (error with line/column on bad JSON), applies overrides, validates.
Config load(const std::string& path, const Schema& schema, const std::vector<std::string>& sets = {});

/// Reads a JSON file with a clear error (file, line, column) on a parse failure.
json read_json_file(const std::string& path);

/// The closest candidate by edit distance (for "did you mean"), or "" if nothing is close.
std::string closest_match(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace medssl::config
