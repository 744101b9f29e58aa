#include "medssl/models/registry.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include "medssl/models/densenet.h"
#include "medssl/models/heads.h"
#include "medssl/models/swin_unetr.h"
#include "medssl/models/unet.h"

namespace medssl::models {
namespace {
using nlohmann::json;

// Reads typed options from a JSON object, records defaults, and rejects keys nobody asked for.
class OptionReader {
 public:
  OptionReader(std::string model, const json& options) : model_(std::move(model)), options_(options) {
    if (options_.is_null()) options_ = json::object();
    check(options_.is_object(), "model \"{}\": options must be a JSON object, got {}", model_, options_.dump());
  }

  template <typename T>
  T get(const std::string& key, const T& fallback) {
    known_.insert(key);
    if (!options_.contains(key)) {
      resolved_[key] = fallback;
      return fallback;
    }
    T value = convert<T>(key);
    resolved_[key] = value;
    return value;
  }

  template <typename T>
  T require(const std::string& key) {
    known_.insert(key);
    check(options_.contains(key), "model \"{}\": option \"{}\" is required", model_, key);
    T value = convert<T>(key);
    resolved_[key] = value;
    return value;
  }

  /// Pooling mode; JSON null means "none" (the reference's configs write "none" or omit it).
  std::string pooling(const std::string& fallback, const std::vector<std::string>& allowed) {
    known_.insert("pooling");
    std::string value = fallback;
    if (options_.contains("pooling"))
      value = options_["pooling"].is_null() ? std::string("none") : convert<std::string>("pooling");
    check(std::find(allowed.begin(), allowed.end(), value) != allowed.end(),
          "model \"{}\": option \"pooling\" must be one of [{}], got \"{}\"", model_, fmt::join(allowed, ", "), value);
    resolved_["pooling"] = value;
    return value;
  }

  /// Call after all reads: throws on keys the model does not know.
  json finish() const {
    for (const auto& item : options_.items())
      check(known_.count(item.key()) > 0, "model \"{}\": unknown option \"{}\" (valid: {})", model_, item.key(),
            fmt::join(known_, ", "));
    return resolved_;
  }

 private:
  template <typename T>
  T convert(const std::string& key) const {
    const json& v = options_.at(key);
    try {
      if constexpr (std::is_same_v<T, bool>) {
        check(v.is_boolean(), "model \"{}\": option \"{}\" must be true/false, got {}", model_, key, v.dump());
      } else if constexpr (std::is_integral_v<T>) {
        check(v.is_number_integer(), "model \"{}\": option \"{}\" must be an integer, got {}", model_, key, v.dump());
      } else if constexpr (std::is_floating_point_v<T>) {
        check(v.is_number(), "model \"{}\": option \"{}\" must be a number, got {}", model_, key, v.dump());
      } else if constexpr (std::is_same_v<T, std::string>) {
        check(v.is_string(), "model \"{}\": option \"{}\" must be a string, got {}", model_, key, v.dump());
      }
      return v.get<T>();
    } catch (const json::exception& e) {
      fail("model \"{}\": option \"{}\" has the wrong type ({}): {}", model_, key, v.dump(), e.what());
    }
  }

  std::string model_;
  json options_;
  json resolved_ = json::object();
  std::set<std::string> known_;
};

ModelHandle handle(const std::string& name, const std::string& kind, std::shared_ptr<torch::nn::Module> module,
                   int dims, int64_t out_features, const OptionReader& reader) {
  ModelHandle h;
  h.name = name;
  h.kind = kind;
  h.module = std::move(module);
  h.spatial_dims = dims;
  h.out_features = out_features;
  h.options = reader.finish();
  return h;
}

ModelHandle build_unet(const std::string& name, const json& options, int fixed_dims) {
  OptionReader r(name, options);
  UNetOptions o;
  const int dims = r.get<int>("spatial_dims", fixed_dims == 0 ? 3 : fixed_dims);
  check(fixed_dims == 0 || dims == fixed_dims, "model \"{}\": spatial_dims must be {} for this name, got {}", name,
        fixed_dims, dims);
  o.spatial_dims(dims)
      .in_channels(r.get<int64_t>("in_channels", 1))
      .num_classes(r.get<int64_t>("num_classes", 3))
      .enc_filters(r.get<int64_t>("enc_filters", 16))
      .num_layers(r.get<int64_t>("num_layers", 4))
      .pooling(r.pooling("max", {"max", "avg", "global_max", "global_avg", "none"}))
      .variant(r.get<std::string>("variant", "taleb"))
      .dropout(r.get<double>("dropout", 0.5));
  r.finish();
  auto unet = std::make_shared<UNetImpl>(o);
  return handle(name, "model", unet, dims, o.num_classes(), r);
}

ModelHandle build_unet_encoder(const std::string& name, const json& options) {
  OptionReader r(name, options);
  UNetEncoderOptions o;
  o.spatial_dims(r.get<int>("spatial_dims", 3))
      .in_channels(r.get<int64_t>("in_channels", 1))
      .enc_filters(r.get<int64_t>("enc_filters", 16))
      .num_layers(r.get<int64_t>("num_layers", 4))
      .pooling(r.pooling("max", {"max", "avg", "global_max", "global_avg", "none"}))
      .variant(r.get<std::string>("variant", "taleb"))
      .dropout(r.get<double>("dropout", 0.5));
  r.finish();
  auto encoder = std::make_shared<UNetEncoderImpl>(o);
  return handle(name, "encoder", encoder, o.spatial_dims(), encoder->out_channels(), r);
}

ModelHandle build_unet_decoder(const std::string& name, const json& options) {
  OptionReader r(name, options);
  UNetDecoderOptions o;
  o.spatial_dims(r.get<int>("spatial_dims", 3))
      .num_classes(r.get<int64_t>("num_classes", 3))
      .enc_filters(r.get<int64_t>("enc_filters", 16))
      .num_layers(r.get<int64_t>("num_layers", 4))
      .encoder_pooled(r.get<bool>("encoder_pooled", true))
      .variant(r.get<std::string>("variant", "taleb"))
      .dropout(r.get<double>("dropout", 0.5));
  r.finish();
  return handle(name, "decoder", std::make_shared<UNetDecoderImpl>(o), o.spatial_dims(), o.num_classes(), r);
}

ModelHandle build_densenet121(const std::string& name, const json& options) {
  OptionReader r(name, options);
  DenseNetOptions o;
  o.spatial_dims(r.get<int>("spatial_dims", 2))
      .in_channels(r.get<int64_t>("in_channels", 3))
      .num_classes(r.get<int64_t>("num_classes", 0))
      .pooling(r.pooling("avg", {"avg", "max"}))
      .drop_rate(r.get<double>("drop_rate", 0.0))
      .growth_rate(r.get<int64_t>("growth_rate", 32))
      .block_config(r.get<std::vector<int64_t>>("block_config", {6, 12, 24, 16}))
      .num_init_features(r.get<int64_t>("num_init_features", 64))
      .bn_size(r.get<int64_t>("bn_size", 4));
  r.finish();
  auto net = std::make_shared<DenseNetImpl>(o);
  const int64_t out = o.num_classes() > 0 ? o.num_classes() : net->out_features();
  return handle(name, o.num_classes() > 0 ? "model" : "encoder", net, o.spatial_dims(), out, r);
}

ModelHandle build_big_fully(const std::string& name, const json& options) {
  OptionReader r(name, options);
  BigFullyOptions o(r.require<int64_t>("in_features"));
  o.hidden1(r.get<int64_t>("hidden1", 2048)).hidden2(r.get<int64_t>("hidden2", 1024)).dropout(r.get<double>("dropout", 0.5));
  r.finish();
  return handle(name, "head", std::make_shared<BigFullyImpl>(o), 0, o.hidden2(), r);
}

ModelHandle build_linear_classifier(const std::string& name, const json& options) {
  OptionReader r(name, options);
  LinearClassifierOptions o(r.require<int64_t>("in_features"), r.require<int64_t>("num_classes"));
  r.finish();
  return handle(name, "head", std::make_shared<LinearClassifierImpl>(o), 0, o.num_classes(), r);
}

ModelHandle build_projection_mlp(const std::string& name, const json& options) {
  OptionReader r(name, options);
  ProjectionMLPOptions o(r.require<int64_t>("in_features"));
  o.hidden_features(r.get<int64_t>("hidden_features", 2048))
      .out_features(r.get<int64_t>("out_features", 2048))
      .num_layers(r.get<int64_t>("num_layers", 3))
      .batch_norm(r.get<bool>("batch_norm", true))
      .last_bn(r.get<bool>("last_bn", true))
      .last_bn_affine(r.get<bool>("last_bn_affine", false));
  r.finish();
  return handle(name, "head", std::make_shared<ProjectionMLPImpl>(o), 0, o.out_features(), r);
}

ModelHandle build_prediction_mlp(const std::string& name, const json& options) {
  OptionReader r(name, options);
  PredictionMLPOptions o;
  o.in_features(r.get<int64_t>("in_features", 2048))
      .hidden_features(r.get<int64_t>("hidden_features", 512))
      .out_features(r.get<int64_t>("out_features", 2048));
  r.finish();
  return handle(name, "head", std::make_shared<PredictionMLPImpl>(o), 0, o.out_features(), r);
}

// Options shared by swin_encoder and swinunetr (MONAI SwinTransformer / SwinUNETR arguments).
SwinUNETROptions read_swin_options(OptionReader& r, int64_t out_channels) {
  SwinUNETROptions o(r.get<int64_t>("in_channels", 1), out_channels);
  o.spatial_dims(r.get<int>("spatial_dims", 3))
      .feature_size(r.get<int64_t>("feature_size", 48))
      .depths(r.get<std::vector<int64_t>>("depths", {2, 2, 2, 2}))
      .num_heads(r.get<std::vector<int64_t>>("num_heads", {3, 6, 12, 24}))
      .window_size({r.get<int64_t>("window_size", 7)})
      .drop_rate(r.get<double>("drop_rate", 0.0))
      .attn_drop_rate(r.get<double>("attn_drop_rate", 0.0))
      .drop_path_rate(r.get<double>("drop_path_rate", 0.0))
      .merge_order(r.get<std::string>("merge_order", "monai_1.2"));
  return o;
}

ModelHandle build_swin_encoder(const std::string& name, const json& options) {
  OptionReader r(name, options);
  const auto o = read_swin_options(r, 1);
  r.finish();
  auto net = std::make_shared<SwinTransformerImpl>(swin_encoder_options(o));
  return handle(name, "encoder", net, o.spatial_dims(), net->out_features(), r);
}

ModelHandle build_swinunetr(const std::string& name, const json& options) {
  OptionReader r(name, options);
  auto o = read_swin_options(r, r.get<int64_t>("out_channels", 14));
  o.normalize(r.get<bool>("normalize", true)).norm_name(r.get<std::string>("norm_name", "instance"));
  // img_size is only validated (MONAI <= 1.2 took it; the network itself works at any multiple of 32).
  const auto img_size = r.get<std::vector<int64_t>>("img_size", {96});
  check(img_size.size() == 1 || static_cast<int>(img_size.size()) == o.spatial_dims(),
        "model \"{}\": img_size must have 1 or {} values, got {}", name, o.spatial_dims(), img_size.size());
  for (auto s : img_size)
    check(s > 0 && s % SwinUNETRImpl::kSizeMultiple == 0,
          "model \"{}\": every img_size must be a positive multiple of 32, got {}", name, s);
  r.finish();
  return handle(name, "model", std::make_shared<SwinUNETRImpl>(o), o.spatial_dims(), o.out_channels(), r);
}

using Builder = std::function<ModelHandle(const std::string&, const json&)>;

const std::map<std::string, Builder>& builders() {
  static const std::map<std::string, Builder> table = {
      {"unet_3d_upconv", [](const std::string& n, const json& o) { return build_unet(n, o, 3); }},
      {"unet_2d_upconv", [](const std::string& n, const json& o) { return build_unet(n, o, 2); }},
      {"unet", [](const std::string& n, const json& o) { return build_unet(n, o, 0); }},
      {"unet_encoder", build_unet_encoder},
      {"unet_decoder", build_unet_decoder},
      {"densenet121", build_densenet121},
      {"big_fully", build_big_fully},
      {"linear_classifier", build_linear_classifier},
      {"projection_mlp", build_projection_mlp},
      {"prediction_mlp", build_prediction_mlp},
      {"swin_encoder", build_swin_encoder},
      {"swinunetr", build_swinunetr},
  };
  return table;
}

}  // namespace

std::vector<std::string> model_names() {
  std::vector<std::string> names;
  for (const auto& item : builders()) names.push_back(item.first);
  return names;
}

ModelHandle build_model(const std::string& name, const nlohmann::json& options) {
  const auto& table = builders();
  auto it = table.find(name);
  if (it == table.end()) fail("unknown model \"{}\" (valid: {})", name, fmt::join(model_names(), ", "));
  return it->second(name, options);
}

}  // namespace medssl::models
