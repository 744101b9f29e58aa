// Weights exported from MONAI's own ViTAutoEnc (3D) and UNETR (2D) load by name into medssl's models and reproduce
// MONAI's outputs. Fixture: tests/models/fixtures/monai_vit_reference.bin, written by make_monai_reference.py (next
// to it; MONAI 1.5.0, torch 1.13, CPU).
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <string>

#include "medssl/models/unetr.h"
#include "medssl/models/vit_autoenc.h"
#include "medssl_test_paths.h"

namespace {

using namespace medssl::models;

/// "<model>/<name>" -> tensor, parsed from the fixture format documented in make_monai_reference.py.
std::map<std::string, torch::Tensor> read_fixture() {
  const std::string path = std::string(MEDSSL_SOURCE_DIR) + "/tests/models/fixtures/monai_vit_reference.bin";
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
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

/// Copies every "<model>/<key>" entry into the parameter/buffer `key` of `module`; the two name sets must coincide.
void load_by_name(torch::nn::Module& module, const std::map<std::string, torch::Tensor>& fixture,
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
    ASSERT_EQ(target->sizes(), source.sizes()) << model << "/" << key;
    target->copy_(source);
  }
}

TEST(VitMonaiReference, ViTAutoEnc3DReproducesMonai) {
  const auto fixture = read_fixture();
  ViTAutoEnc model(ViTAutoEncOptions(1, {8, 8, 8}, {4, 4, 4}).out_channels(2).deconv_chns(4).hidden_size(8)
                       .mlp_dim(12).num_layers(2).num_heads(2));
  load_by_name(*model, fixture, "autoenc");
  model->eval();
  auto output = model(fixture.at("autoenc/__input__")).reconstruction;
  const auto& expected = fixture.at("autoenc/__output__");
  ASSERT_EQ(output.sizes(), expected.sizes());
  EXPECT_TRUE(torch::allclose(output, expected, 1e-4, 1e-5))
      << "max |diff| " << (output - expected).abs().max().item<double>();
}

TEST(VitMonaiReference, Unetr2DReproducesMonai) {
  const auto fixture = read_fixture();
  UNETR model(UNETROptions(1, 2, {16, 32}).feature_size(2).hidden_size(8).mlp_dim(8).num_heads(2).spatial_dims(2));
  load_by_name(*model, fixture, "unetr");
  model->eval();
  auto output = model(fixture.at("unetr/__input__"));
  const auto& expected = fixture.at("unetr/__output__");
  ASSERT_EQ(output.sizes(), expected.sizes());
  EXPECT_TRUE(torch::allclose(output, expected, 1e-4, 1e-5))
      << "max |diff| " << (output - expected).abs().max().item<double>();
}

}  // namespace
