#include "medssl/data/layouts/layout_common.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "medssl/core/error.h"
#include "medssl/core/json_text.h"

namespace medssl::data::layout {
namespace fs = std::filesystem;

std::string absolute_path(const std::string& path) {
  std::error_code ec;
  fs::path p = fs::absolute(fs::path(path), ec);
  if (ec) p = fs::path(path);
  std::string s = p.lexically_normal().string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

bool is_directory(const std::string& path) {
  std::error_code ec;
  return fs::is_directory(path, ec);
}

bool is_regular_file(const std::string& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec);
}

void require_folder(const std::string& root, const std::string& what) {
  std::error_code ec;
  if (!fs::exists(root, ec)) fail("{} '{}' does not exist", what, root);
  if (!fs::is_directory(root, ec)) fail("{} '{}' is not a folder", what, root);
}

Json read_json_object(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot open '{}': {}", path, std::strerror(errno));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  Json json;
  try {
    json = parse_json_text(text, path);
  } catch (const Json::parse_error& e) {
    // Turn the byte offset into line:column, the position an editor shows.
    size_t byte = std::min(e.byte == 0 ? size_t{0} : e.byte - 1, text.size());
    int line = 1;
    size_t line_start = 0;
    for (size_t i = 0; i < byte; ++i)
      if (text[i] == '\n') {
        ++line;
        line_start = i + 1;
      }
    fail("{}:{}:{}: not valid JSON: {}", path, line, byte - line_start + 1, e.what());
  }
  check(json.is_object(), "{}: the top level must be a JSON object, found {}", path, json_type_name(json));
  return json;
}

std::string json_type_name(const Json& value) {
  if (value.is_number_integer()) return "integer";
  if (value.is_number()) return "number";
  return value.type_name();
}

const Json& require_key(const Json& object, const std::string& key, const std::string& file) {
  auto it = object.find(key);
  if (it == object.end()) fail("{}: missing required key '{}'", file, key);
  return *it;
}

std::string require_string(const Json& value, const std::string& what, const std::string& file) {
  if (!value.is_string()) fail("{}: {} must be a string, found {}", file, what, json_type_name(value));
  return value.get<std::string>();
}

int require_int(const Json& value, const std::string& what, const std::string& file) {
  if (!value.is_number_integer())
    fail("{}: {} must be an integer, found {} ({})", file, what, json_type_name(value), value.dump());
  long long v = value.get<long long>();
  if (v < 0 || v > 1000000000) fail("{}: {} = {} is out of range", file, what, v);
  return static_cast<int>(v);
}

int parse_index_key(const std::string& key, const std::string& what, const std::string& file) {
  bool digits = !key.empty() && key.size() <= 9 &&
                std::all_of(key.begin(), key.end(), [](unsigned char c) { return std::isdigit(c); });
  if (!digits) fail("{}: {} key '{}' is not a non-negative integer", file, what, key);
  return std::stoi(key);
}

std::vector<std::string> read_indexed_names(const Json& object, const std::string& what, const std::string& file) {
  if (!object.is_object())
    fail("{}: '{}' must be an object like {{\"0\": \"CT\"}}, found {}", file, what, json_type_name(object));
  std::map<int, std::string> by_index;
  for (auto it = object.begin(); it != object.end(); ++it) {
    int index = parse_index_key(it.key(), "'" + what + "'", file);
    by_index[index] = require_string(it.value(), "'" + what + "' entry \"" + it.key() + "\"", file);
  }
  std::vector<std::string> names;
  for (const auto& [index, name] : by_index) {
    if (index != static_cast<int>(names.size()))
      fail("{}: '{}' must number its entries 0..{} without gaps; entry {} is missing", file, what,
           by_index.size() - 1, names.size());
    names.push_back(name);
  }
  return names;
}

namespace {
bool ends_with_ci(const std::string& s, const std::string& suffix) {
  if (s.size() < suffix.size()) return false;
  for (size_t i = 0; i < suffix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[s.size() - suffix.size() + i])) != suffix[i]) return false;
  return true;
}
}  // namespace

std::string image_file_ending(const std::string& name) {
  for (const char* ending : {".nii.gz", ".nii"})
    if (name.size() > std::strlen(ending) && name.compare(name.size() - std::strlen(ending), std::string::npos,
                                                          ending) == 0)
      return ending;
  for (const char* ending : {".png", ".jpg", ".jpeg", ".bmp"}) {
    size_t n = std::strlen(ending);
    if (name.size() > n && ends_with_ci(name, ending)) return name.substr(name.size() - n);
  }
  return "";
}

bool is_nifti_ending(const std::string& ending) { return ending == ".nii.gz" || ending == ".nii"; }

bool is_picture_ending(const std::string& ending) {
  std::string lower = ending;
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower == ".png" || lower == ".jpg" || lower == ".jpeg" || lower == ".bmp";
}

int spatial_dims_for_ending(const std::string& ending, const std::string& context) {
  if (is_nifti_ending(ending)) return 3;
  if (is_picture_ending(ending)) return 2;
  fail("{}: unsupported image file type '{}' (medssl reads .nii, .nii.gz, .png, .jpg, .jpeg, .bmp)", context,
       ending.empty() ? "(no extension)" : ending);
}

std::string case_stem(const std::string& path) {
  std::string name = fs::path(path).filename().string();
  std::string ending = image_file_ending(name);
  if (ending.empty()) {
    size_t dot = name.rfind('.');
    return dot == std::string::npos || dot == 0 ? name : name.substr(0, dot);
  }
  return name.substr(0, name.size() - ending.size());
}

bool is_hidden_name(const std::string& file_name) { return !file_name.empty() && file_name[0] == '.'; }

std::vector<std::string> list_visible_files(const std::string& folder) {
  std::vector<std::string> names;
  std::error_code ec;
  fs::directory_iterator it(folder, ec);
  if (ec) fail("cannot list folder '{}': {}", folder, ec.message());
  for (const auto& entry : it) {
    std::string name = entry.path().filename().string();
    std::error_code type_ec;
    if (is_hidden_name(name) || !entry.is_regular_file(type_ec)) continue;
    names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string resolve_listed_path(const std::string& root, const std::string& listed) {
  fs::path p(listed);
  if (p.is_absolute()) return p.lexically_normal().string();
  return (fs::path(root) / p).lexically_normal().string();  // "./x" normalises to "x"
}

void check_unique_case_ids(const DatasetIndex& index, const std::string& source) {
  std::map<std::string, std::string> first_seen;  // id -> "training"/"test"/"unlabelled"
  auto visit = [&](const std::vector<CaseRecord>& cases, const char* group) {
    for (const auto& c : cases) {
      auto [it, inserted] = first_seen.emplace(c.id, group);
      if (!inserted)
        fail("{}: case id '{}' appears twice (in {} and in {}); case ids must be unique", source, c.id, it->second,
             group);
    }
  };
  visit(index.training, "training");
  visit(index.test, "test");
  visit(index.unlabelled, "unlabelled");
}

}  // namespace medssl::data::layout
