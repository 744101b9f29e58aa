#include "medssl/core/json_text.h"

#include "medssl/core/error.h"

namespace medssl {

nlohmann::json parse_json_text(const std::string& text, const std::string& source) {
  const nlohmann::json::parser_callback_t limit = [&](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
    if (depth > kMaxJsonDepth)
      fail("{}: JSON nested more than {} levels deep (a damaged or hostile file?)", source, kMaxJsonDepth);
    return true;
  };
  try {
    return nlohmann::json::parse(text, limit);
  } catch (const nlohmann::json::out_of_range& e) {
    // e.g. 4e444: syntactically a number, but no double holds it (found by fuzz_dataset_json; nlohmann throws it as
    // out_of_range, not parse_error, so it escaped the callers' handlers).
    fail("{}: not valid JSON: a number is out of range ({})", source, e.what());
  }
}

}  // namespace medssl
