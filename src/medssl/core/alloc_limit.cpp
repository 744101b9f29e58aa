#include "medssl/core/alloc_limit.h"

#include <cctype>
#include <cstdlib>

#include "medssl/core/error.h"

namespace medssl {

uint64_t parse_byte_size(const std::string& text, const std::string& what) {
  size_t pos = 0;
  uint64_t value = 0;
  while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) {
    const uint64_t digit = static_cast<uint64_t>(text[pos] - '0');
    check(!__builtin_mul_overflow(value, uint64_t{10}, &value) && !__builtin_add_overflow(value, digit, &value),
          "{} = '{}' is too large", what, text);
    ++pos;
  }
  check(pos > 0, "{} = '{}' is not a size (expected e.g. 512M, 8G or a number of bytes)", what, text);
  std::string suffix = text.substr(pos);
  for (auto& c : suffix) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  int shift = -1;  // "", "B": bytes; "K", "KB", "KIB" (and M, G, T): powers of 1024
  const std::string units = "KMGT";
  const size_t unit = suffix.empty() ? std::string::npos : units.find(suffix[0]);
  if (suffix.empty() || suffix == "B") shift = 0;
  else if (unit != std::string::npos && (suffix.size() == 1 || suffix.substr(1) == "B" || suffix.substr(1) == "IB"))
    shift = 10 * static_cast<int>(unit + 1);
  check(shift >= 0, "{} = '{}': unknown unit '{}' (use K, M, G or T)", what, text, text.substr(pos));
  check(value > 0, "{} = '{}' must be positive", what, text);
  check(shift == 0 || value <= (~uint64_t{0} >> shift), "{} = '{}' is too large", what, text);
  return value << shift;
}

uint64_t max_alloc_bytes() {
  const char* env = std::getenv("MEDSSL_MAX_ALLOC");
  if (!env || !*env) return kDefaultMaxAllocBytes;
  return parse_byte_size(env, "the environment variable MEDSSL_MAX_ALLOC");
}

void check_alloc(uint64_t bytes, uint64_t limit, const std::string& file, const std::string& what) {
  check(bytes <= limit,
        "'{}': {} would need {} bytes, above the limit of {} bytes (a damaged header? if the file is right, raise the "
        "limit with the environment variable MEDSSL_MAX_ALLOC, e.g. MEDSSL_MAX_ALLOC=64G)",
        file, what, bytes, limit);
}

}  // namespace medssl
