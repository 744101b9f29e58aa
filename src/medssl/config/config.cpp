#include "medssl/config/config.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <fmt/format.h>

#include "medssl/core/atomic_file.h"
#include "medssl/core/error.h"
#include "medssl/core/json_text.h"
#include "medssl/core/log.h"

namespace medssl::config {

std::string type_name(Type t) {
  switch (t) {
    case Type::boolean: return "a boolean";
    case Type::integer: return "an integer";
    case Type::number: return "a number";
    case Type::string: return "a string";
    case Type::int_list: return "a list of integers";
    case Type::number_list: return "a list of numbers";
    case Type::string_list: return "a list of strings";
    case Type::object: return "an object";
    case Type::any: return "any value";
  }
  return "?";
}

Schema& Schema::add(KeySpec spec) {
  for (auto& k : keys_) {
    if (k.name == spec.name) {
      k = std::move(spec);
      return *this;
    }
  }
  keys_.push_back(std::move(spec));
  return *this;
}

Schema& Schema::key(const std::string& name, Type type, json default_value, const std::string& doc) {
  KeySpec s;
  s.name = name;
  s.type = type;
  s.default_value = std::move(default_value);
  s.doc = doc;
  return add(std::move(s));
}

Schema& Schema::required(const std::string& name, Type type, const std::string& doc) {
  return key(name, type, nullptr, doc);
}

Schema& Schema::optional(const std::string& name, Type type, const std::string& doc) {
  KeySpec s;
  s.name = name;
  s.type = type;
  s.doc = doc;
  s.optional = true;
  return add(std::move(s));
}

static KeySpec& find_mut(std::vector<KeySpec>& keys, const std::string& name) {
  for (auto& k : keys)
    if (k.name == name) return k;
  fail("internal error: schema has no key '{}'", name);
}

Schema& Schema::range(const std::string& name, std::optional<double> min, std::optional<double> max) {
  auto& k = find_mut(keys_, name);
  k.min = min;
  k.max = max;
  return *this;
}

Schema& Schema::choices(const std::string& name, std::vector<std::string> values) {
  find_mut(keys_, name).choices = std::move(values);
  return *this;
}

Schema& Schema::ignored(const std::string& name, const std::string& why) {
  KeySpec s;
  s.name = name;
  s.doc = why;
  s.ignored = true;
  s.optional = true;
  return add(std::move(s));
}

Schema& Schema::include(const Schema& other) {
  for (const auto& k : other.keys()) add(k);
  return *this;
}

const KeySpec* Schema::find(const std::string& name) const {
  for (const auto& k : keys_)
    if (k.name == name) return &k;
  return nullptr;
}

std::string Schema::to_markdown() const {
  // A '|' inside a cell would end it: Markdown tables need it escaped (also inside code spans).
  auto cell = [](std::string text) {
    for (size_t at = text.find('|'); at != std::string::npos; at = text.find('|', at + 2)) text.insert(at, "\\");
    return text;
  };
  std::string out = fmt::format("### {}\n\n| key | type | default | meaning |\n| --- | --- | --- | --- |\n", name_);
  for (const auto& k : keys_) {
    std::string def = k.ignored ? "(ignored)" : (k.default_value.is_null() ? (k.optional ? "(unset)" : "(required)")
                                                                           : k.default_value.dump());
    std::string extra;
    if (!k.choices.empty()) {
      extra += " One of:";
      for (const auto& c : k.choices) extra += " `" + c + "`";
      extra += ".";
    }
    if (k.min || k.max)
      extra += fmt::format(" Range [{}, {}].", k.min ? fmt::format("{}", *k.min) : "-inf",
                           k.max ? fmt::format("{}", *k.max) : "inf");
    out += fmt::format("| `{}` | {} | `{}` | {} |\n", k.name, k.ignored ? "-" : type_name(k.type), cell(def),
                       cell(k.doc + extra));
  }
  return out;
}

void Config::missing(const std::string& key) const {
  fail("config {}: key '{}' has no value (it is required)", source_, key);
}

std::string closest_match(const std::string& word, const std::vector<std::string>& candidates) {
  auto distance = [](const std::string& a, const std::string& b) {
    std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
      cur[0] = i;
      for (size_t j = 1; j <= b.size(); ++j) {
        size_t sub = prev[j - 1] + (std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                                            std::tolower(static_cast<unsigned char>(b[j - 1]))
                                        ? 0
                                        : 1);
        cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
      }
      std::swap(prev, cur);
    }
    return prev[b.size()];
  };
  std::string best;
  size_t best_d = std::string::npos;
  for (const auto& c : candidates) {
    size_t d = distance(word, c);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  size_t limit = std::max<size_t>(2, word.size() / 3);
  return best_d <= limit ? best : "";
}

/// A value as JSON text for messages. --set values that are not JSON are kept as raw strings, which may hold bytes
/// that are not UTF-8: plain dump() throws nlohmann's type_error for those (found by fuzz_config).
static std::string shown(const json& v) { return v.dump(-1, ' ', false, json::error_handler_t::replace); }

static json parse_override_value(const std::string& text) {
  try {
    return parse_json_text(text, "--set value");
  } catch (const json::exception&) {
    // Plain strings need no quotes on the command line; they must still be UTF-8, or every later dump() of the
    // config (config.json of a run, messages) would throw.
    json value(text);
    try {
      (void)value.dump();
    } catch (const json::type_error&) {
      fail("--set: the value '{}' is not valid UTF-8 text", shown(value));
    }
    return value;
  }
}

void apply_overrides(json& doc, const std::vector<std::string>& sets) {
  if (!doc.is_object()) doc = json::object();
  for (const auto& s : sets) {
    auto eq = s.find('=');
    check(eq != std::string::npos && eq > 0, "--set expects key=value, got '{}'", s);
    std::string key = s.substr(0, eq);
    json value = parse_override_value(s.substr(eq + 1));
    json* node = &doc;
    size_t start = 0;
    for (;;) {
      size_t dot = key.find('.', start);
      std::string part = key.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
      check(!part.empty(), "--set: empty key component in '{}'", key);
      if (dot == std::string::npos) {
        (*node)[part] = value;
        break;
      }
      json& child = (*node)[part];
      if (!child.is_object()) child = json::object();
      node = &child;
      start = dot + 1;
    }
  }
}

static bool is_integer_value(const json& v) {
  if (v.is_number_integer() || v.is_number_unsigned()) return true;
  if (v.is_number_float()) {
    double d = v.get<double>();
    return std::isfinite(d) && d == std::floor(d);
  }
  return false;
}

static void check_type(const KeySpec& k, const json& v, const std::string& source) {
  auto bad = [&]() {
    fail("config {}: key '{}' must be {}, got {} ({})", source, k.name, type_name(k.type), v.type_name(), shown(v));
  };
  auto check_number = [&](const json& x) {
    double d = x.get<double>();
    if (!std::isfinite(d)) fail("config {}: key '{}' must be finite, got {}", source, k.name, shown(x));
    if ((k.min && d < *k.min) || (k.max && d > *k.max))
      fail("config {}: key '{}' = {} is out of range [{}, {}]", source, k.name, shown(x),
           k.min ? fmt::format("{}", *k.min) : "-inf", k.max ? fmt::format("{}", *k.max) : "inf");
  };
  // An integral double such as 1e19 is an integer for JSON but not for int64_t: reading it as one is undefined.
  auto check_int64 = [&](const json& x) {
    bool fits = true;  // signed JSON integers are stored as int64 already
    if (x.is_number_unsigned()) fits = x.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
    else if (x.is_number_float()) fits = x.get<double>() >= -0x1p63 && x.get<double>() < 0x1p63;
    if (!fits) fail("config {}: key '{}' = {} does not fit in a 64-bit integer", source, k.name, shown(x));
  };
  switch (k.type) {
    case Type::boolean: if (!v.is_boolean()) bad(); break;
    case Type::integer: if (!is_integer_value(v)) bad(); check_int64(v); check_number(v); break;
    case Type::number: if (!v.is_number()) bad(); check_number(v); break;
    case Type::string:
      if (!v.is_string()) bad();
      if (!k.choices.empty() && std::find(k.choices.begin(), k.choices.end(), v.get<std::string>()) == k.choices.end()) {
        std::string list;
        for (const auto& c : k.choices) list += (list.empty() ? "" : ", ") + c;
        std::string near = closest_match(v.get<std::string>(), k.choices);
        fail("config {}: key '{}' = \"{}\" is not one of: {}{}", source, k.name, v.get<std::string>(), list,
             near.empty() ? "" : fmt::format(" (did you mean \"{}\"?)", near));
      }
      break;
    case Type::int_list:
      if (!v.is_array()) bad();
      for (const auto& x : v) { if (!is_integer_value(x)) bad(); check_int64(x); check_number(x); }
      break;
    case Type::number_list:
      if (!v.is_array()) bad();
      for (const auto& x : v) { if (!x.is_number()) bad(); check_number(x); }
      break;
    case Type::string_list:
      if (!v.is_array()) bad();
      for (const auto& x : v) if (!x.is_string()) bad();
      break;
    case Type::object: if (!v.is_object()) bad(); break;
    case Type::any: break;
  }
}

Config validate(const json& doc, const Schema& schema, const std::string& source) {
  check(doc.is_object(), "config {}: the top level must be a JSON object, got {}", source, doc.type_name());
  std::vector<std::string> names;
  for (const auto& k : schema.keys()) if (!k.ignored) names.push_back(k.name);
  json out = json::object();
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    const KeySpec* spec = schema.find(it.key());
    if (!spec) {
      std::string near = closest_match(it.key(), names);
      fail("config {}: unknown key '{}' for {}{}", source, it.key(), schema.name(),
           near.empty() ? " (see docs/config-reference.md for the valid keys)" : fmt::format(" (did you mean '{}'?)", near));
    }
    if (spec->ignored) {
      log::warn("config {}: key '{}' is accepted for compatibility but has no effect: {}", source, it.key(), spec->doc);
      continue;
    }
    if (!it.value().is_null()) check_type(*spec, it.value(), source);
    out[it.key()] = it.value();
  }
  for (const auto& k : schema.keys()) {
    if (k.ignored || out.contains(k.name)) continue;
    if (k.default_value.is_null() && !k.optional) fail("config {}: required key '{}' is missing ({})", source, k.name, k.doc);
    out[k.name] = k.default_value;
  }
  return Config(std::move(out), source);
}

json read_json_file(const std::string& path) {
  std::string text = read_file(path);
  try {
    return parse_json_text(text, path);
  } catch (const json::parse_error& e) {
    // Convert the byte offset into line:column for a message a person can act on.
    size_t line = 1, col = 1;
    for (size_t i = 0; i < text.size() && i + 1 < e.byte; ++i) {
      if (text[i] == '\n') { ++line; col = 1; } else { ++col; }
    }
    fail("{}:{}:{}: invalid JSON: {}", path, line, col, e.what());
  }
}

Config load(const std::string& path, const Schema& schema, const std::vector<std::string>& sets) {
  json doc = path.empty() ? json::object() : read_json_file(path);
  apply_overrides(doc, sets);
  return validate(doc, schema, path.empty() ? "(command line)" : path);
}

}  // namespace medssl::config
