#pragma once
// Reader for the MONAI reference fixtures in tests/models/fixtures (format: see make_swin_monai_reference.py):
// b"MEDSSLFX", u32 count, then per entry u32 name length, name, u32 ndim, i64 dims, f32 data.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "medssl/core/torch_pch.h"
#include "medssl_test_paths.h"

namespace medssl::testing {

/// "<model>/<name>" -> tensor, from tests/models/fixtures/<file>.
inline std::map<std::string, torch::Tensor> read_monai_fixture(const std::string& file) {
  const std::string path = std::string(MEDSSL_SOURCE_DIR) + "/tests/models/fixtures/" + file;
  std::ifstream in(path, std::ios::binary);
  if (!in.good()) throw std::runtime_error("cannot open " + path);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t pos = 0;
  auto take = [&](void* dst, size_t n) {
    if (pos + n > bytes.size()) throw std::runtime_error("fixture truncated: " + path);
    std::memcpy(dst, bytes.data() + pos, n);
    pos += n;
  };
  char magic[8];
  take(magic, 8);
  if (std::string(magic, 8) != "MEDSSLFX") throw std::runtime_error("bad fixture magic: " + path);
  uint32_t count = 0;
  take(&count, 4);
  std::map<std::string, torch::Tensor> entries;
  for (uint32_t i = 0; i < count; ++i) {
    uint32_t name_length = 0, ndim = 0;
    take(&name_length, 4);
    std::string name(name_length, '\0');
    take(name.data(), name_length);
    take(&ndim, 4);
    std::vector<int64_t> dims(ndim);
    take(dims.data(), 8 * ndim);
    auto tensor = torch::empty(dims, torch::kFloat);
    take(tensor.data_ptr<float>(), 4 * static_cast<size_t>(tensor.numel()));
    entries[name] = tensor;
  }
  if (pos != bytes.size()) throw std::runtime_error("trailing bytes in fixture: " + path);
  return entries;
}

/// Copies every "<model>/<key>" entry into the parameter/buffer `key` of `module`; the two name sets must coincide
/// (entries named "<model>/__...__" are inputs/outputs, not weights). Buffers named "*relative_position_index" are
/// stored as their first row in the Swin fixture: they are compared by that row and kept (medssl computes them itself).
inline void load_monai_fixture(torch::nn::Module& module, const std::map<std::string, torch::Tensor>& fixture,
                               const std::string& model) {
  std::set<std::string> fixture_keys, module_keys;
  for (const auto& [name, tensor] : fixture)
    if (name.rfind(model + "/", 0) == 0 && name.find("/__") == std::string::npos)
      fixture_keys.insert(name.substr(model.size() + 1));
  auto params = module.named_parameters();
  auto buffers = module.named_buffers();
  for (const auto& item : params) module_keys.insert(item.key());
  for (const auto& item : buffers) module_keys.insert(item.key());
  ASSERT_EQ(module_keys, fixture_keys) << model << ": parameter names differ from MONAI's";
  torch::NoGradGuard no_grad;
  for (const auto& key : fixture_keys) {
    auto* target = params.find(key) ? params.find(key) : buffers.find(key);
    const auto& source = fixture.at(model + "/" + key);
    const std::string suffix = "relative_position_index";
    if (key.size() >= suffix.size() && key.compare(key.size() - suffix.size(), suffix.size(), suffix) == 0) {
      EXPECT_TRUE(torch::equal(target->select(0, 0).to(torch::kFloat), source)) << model << "/" << key;
      continue;
    }
    ASSERT_EQ(target->sizes(), source.sizes()) << model << "/" << key;
    target->copy_(source);
  }
}

}  // namespace medssl::testing
