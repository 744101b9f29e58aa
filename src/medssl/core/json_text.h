#pragma once
// Parsing JSON that comes from outside (configs, --set values, dataset.json). nlohmann's parser itself is iterative,
// but much of what follows a parse recurses once per nesting level (copying a value into the validated config,
// dump() in error messages, comparisons), so a file of 200000 '[' overflowed the stack. medssl's own files nest 5
// levels at most; anything deeper than kMaxJsonDepth is refused with a message naming the file.
#include <nlohmann/json.hpp>
#include <string>

namespace medssl {

constexpr int kMaxJsonDepth = 256;

/// nlohmann::json::parse(text) with the depth limit. Syntax errors are thrown as nlohmann::json::parse_error, like
/// parse (callers turn them into "file:line:column" messages); too deep a document, or a number no double can hold
/// (1e999), is a medssl::Error naming `source`.
nlohmann::json parse_json_text(const std::string& text, const std::string& source);

}  // namespace medssl
