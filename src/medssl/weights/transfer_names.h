#pragma once
// Name mapping of the weights transfer (transfer.h): which model tensor a file's tensor goes into. For each name of
// the file, in this order:
//   1. a name the model has is kept as it is;
//   2. otherwise the wrapper prefixes of training code are removed: "module." (DataParallel /
//      DistributedDataParallel) and "_orig_mod." (torch.compile), also several of them;
//   3. the user's maps (--map OLD=NEW, repeatable): the first whose OLD starts the name replaces that prefix by NEW
//      (OLD empty: NEW is prepended to every name; NEW empty: OLD is removed);
//   4. if the name still is not one of the model's, the built-in rules are tried in order, and the first that yields a
//      name the model has is taken (so they never invent names):
//        "encoder." -> P    medssl pretext runs and `medssl export` of a whole model
//        "swinViT." -> P    MONAI SwinUNETR / the SwinUNETR SSL head
//        "swin_vit." -> P   SwinUNETR variants with the snake-case name
//        "vit." -> P        MONAI UNETR
//        "backbone." -> P   DINO-style and timm-style backbones
//        "" -> P            bare encoder names: torchvision DenseNet-121 (features.*), MONAI ViT / ViTAutoEnc
//                           (patch_embedding.*, blocks.*, norm.*), MONAI SwinTransformer (patch_embed.*, layers1-4.*),
//                           `medssl export --part encoder`
//      where P is the model's pretrained part ("encoder." for UNet / classifiers / pretext models, "swinViT." for
//      SwinUNETR, "vit." for UNETR; "" when the whole model is the pretrained part, which turns the rules into prefix
//      removal).
#include <set>
#include <string>
#include <vector>

namespace medssl::weights {

/// A prefix replacement: names starting with `from` get `to` instead.
struct NameMap {
  std::string from, to;
  std::string why;  ///< built-in rules: what they are for
};

/// "OLD=NEW" -> {OLD, NEW}; medssl::Error naming the flag for text without "=".
NameMap parse_name_map(const std::string& text);

/// "module.", "_orig_mod.".
const std::vector<std::string>& wrapper_prefixes();

/// The built-in rules (above) into a model whose pretrained part is named `pretrained_prefix`.
std::vector<NameMap> builtin_name_rules(const std::string& pretrained_prefix);

/// Where one file tensor goes and how its name got there.
struct NameMapping {
  std::string target;              ///< a model tensor name, or the final mapped name if the model has none such
  bool in_model = false;
  /// e.g. "removed \"module.\"", "--map swinViT.=encoder.", "built-in \"\" -> \"encoder.\" (...)"
  std::vector<std::string> steps;
};

class NameMapper {
 public:
  NameMapper(std::set<std::string> model_names, std::vector<NameMap> user_maps, const std::string& pretrained_prefix);
  NameMapping map(const std::string& file_name) const;

 private:
  std::set<std::string> model_names_;
  std::vector<NameMap> user_maps_, builtin_;
};

}  // namespace medssl::weights
