#pragma once
// Helpers shared by the dataset layout readers (internal to medssl_layouts): absolute paths, dataset.json access
// with messages that name the file and key, image file endings, case-id uniqueness.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "medssl/data/layouts/dataset_index.h"

namespace medssl::data::layout {

using Json = nlohmann::json;

/// Absolute, lexically normalised form of `path` (no trailing slash).
std::string absolute_path(const std::string& path);
bool is_directory(const std::string& path);
bool is_regular_file(const std::string& path);
/// Throws medssl::Error unless `root` is an existing folder; `what` names the layout for the message.
void require_folder(const std::string& root, const std::string& what);

/// Parses a JSON file; a syntax error is reported as "file:line:column: ..." and the top level must be an object.
Json read_json_object(const std::string& path);
/// The value of `key` in `object`, which must exist; `file` names dataset.json in the message.
const Json& require_key(const Json& object, const std::string& key, const std::string& file);
/// "string", "integer", "object", ... for messages.
std::string json_type_name(const Json& value);
std::string require_string(const Json& value, const std::string& what, const std::string& file);
int require_int(const Json& value, const std::string& what, const std::string& file);
/// Parses a key such as "0" or "12" as a non-negative integer; throws naming `what` and the file.
int parse_index_key(const std::string& key, const std::string& what, const std::string& file);
/// Reads {"0": "CT", "1": "MR"}-style objects (keys 0..n-1, each once) into a vector in index order.
std::vector<std::string> read_indexed_names(const Json& object, const std::string& what, const std::string& file);

/// The image file ending of a name (".nii.gz", ".nii", ".png", ".jpg", ".jpeg", ".bmp"; pictures matched
/// case-insensitively), or "" if it is none of them.
std::string image_file_ending(const std::string& name);
bool is_nifti_ending(const std::string& ending);
bool is_picture_ending(const std::string& ending);
/// 3 for NIfTI endings, 2 for picture endings; throws naming `context` for anything else.
int spatial_dims_for_ending(const std::string& ending, const std::string& context);
/// File name without folder and without its image ending ("imagesTr/a.nii.gz" -> "a").
std::string case_stem(const std::string& path);
/// Names that a data set reader never treats as data: dot files, including macOS "._x" resource forks.
bool is_hidden_name(const std::string& file_name);
/// Regular files in `folder` (non-recursive, hidden ones skipped), sorted by name; file names only.
std::vector<std::string> list_visible_files(const std::string& folder);

/// Joins a path listed in dataset.json ("./imagesTr/x.nii.gz", "imagesTr/x.nii.gz" or absolute) to `root`.
std::string resolve_listed_path(const std::string& root, const std::string& listed);

/// Throws if two cases (training, test and unlabelled together) share an id; `source` names where ids came from.
void check_unique_case_ids(const DatasetIndex& index, const std::string& source);

}  // namespace medssl::data::layout
