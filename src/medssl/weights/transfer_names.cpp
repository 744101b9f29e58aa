#include "medssl/weights/transfer_names.h"

#include <fmt/format.h>

#include "medssl/core/error.h"

namespace medssl::weights {
namespace {

bool starts_with(const std::string& s, const std::string& head) { return s.rfind(head, 0) == 0; }

}  // namespace

NameMap parse_name_map(const std::string& text) {
  const auto eq = text.find('=');
  check(eq != std::string::npos, "--map {}: expected OLD=NEW (a name prefix of the file and its replacement, e.g. "
        "--map swinViT.=encoder.)", text);
  check(text.find('=', eq + 1) == std::string::npos, "--map {}: more than one '=' (expected OLD=NEW)", text);
  check(eq > 0 || eq + 1 < text.size(), "--map {}: both OLD and NEW are empty", text);
  return {text.substr(0, eq), text.substr(eq + 1), "--map " + text};
}

const std::vector<std::string>& wrapper_prefixes() {
  static const std::vector<std::string> prefixes = {"module.", "_orig_mod."};
  return prefixes;
}

std::vector<NameMap> builtin_name_rules(const std::string& pretrained_prefix) {
  const std::string& p = pretrained_prefix;
  const std::vector<NameMap> all = {
      {"encoder.", p, "medssl pretext run / exported model"},
      {"swinViT.", p, "MONAI SwinUNETR / SwinUNETR SSL head"},
      {"swin_vit.", p, "SwinUNETR variant (snake case)"},
      {"vit.", p, "MONAI UNETR"},
      {"backbone.", p, "DINO / timm-style backbone"},
      {"", p, "bare encoder names (torchvision DenseNet-121, MONAI ViT / ViTAutoEnc / SwinTransformer, medssl export "
              "--part encoder)"}};
  std::vector<NameMap> rules;
  for (const auto& r : all)
    if (r.from != r.to) rules.push_back(r);
  return rules;
}

NameMapper::NameMapper(std::set<std::string> model_names, std::vector<NameMap> user_maps,
                       const std::string& pretrained_prefix)
    : model_names_(std::move(model_names)),
      user_maps_(std::move(user_maps)),
      builtin_(builtin_name_rules(pretrained_prefix)) {}

NameMapping NameMapper::map(const std::string& file_name) const {
  NameMapping m;
  m.target = file_name;
  auto done = [&] {
    m.in_model = model_names_.count(m.target) > 0;
    return m.in_model;
  };
  if (done()) return m;
  for (bool stripped = true; stripped;) {
    stripped = false;
    for (const auto& w : wrapper_prefixes())
      if (starts_with(m.target, w) && m.target.size() > w.size()) {
        m.target = m.target.substr(w.size());
        m.steps.push_back(fmt::format("removed \"{}\"", w));
        stripped = true;
      }
  }
  for (const auto& u : user_maps_)
    if (starts_with(m.target, u.from)) {
      m.target = u.to + m.target.substr(u.from.size());
      m.steps.push_back(u.why);
      break;
    }
  if (done()) return m;
  for (const auto& r : builtin_)
    if (starts_with(m.target, r.from)) {
      std::string candidate = r.to + m.target.substr(r.from.size());
      if (model_names_.count(candidate)) {
        m.target = std::move(candidate);
        m.steps.push_back(fmt::format("built-in \"{}\" -> \"{}\" ({})", r.from, r.to, r.why));
        break;
      }
    }
  done();
  return m;
}

}  // namespace medssl::weights
