#include "medssl/models/swin_transformer.h"

#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "medssl/core/error.h"
#include "medssl/models/layers.h"
#include "medssl/models/patch_embedding.h"

namespace medssl::models {

namespace nn = torch::nn;

namespace {

int64_t product(const std::vector<int64_t>& v) {
  return std::accumulate(v.begin(), v.end(), int64_t{1}, std::multiplies<>());
}

bool any_positive(const std::vector<int64_t>& v) {
  for (auto s : v)
    if (s > 0) return true;
  return false;
}

// Python's slice(start, stop) on an axis of length n, for the three region slices of compute_mask. Keeps Python's
// meaning of -0 (= 0): slice(-0, None) is the whole axis, slice(-w, -0) is empty.
std::pair<int64_t, int64_t> python_slice(int64_t start, bool has_start, int64_t stop, bool has_stop, int64_t n) {
  auto clamp_index = [n](int64_t i) { return std::clamp<int64_t>(i < 0 ? i + n : i, 0, n); };
  const int64_t begin = has_start ? clamp_index(start) : 0;
  const int64_t end = has_stop ? clamp_index(stop) : n;
  return {begin, std::max(begin, end)};
}

// The three regions of one axis: [0:-w], [-w:-s], [-s:].
std::vector<std::pair<int64_t, int64_t>> mask_regions(int64_t n, int64_t w, int64_t s) {
  return {python_slice(0, false, -w, true, n), python_slice(-w, true, -s, true, n), python_slice(-s, true, 0, false, n)};
}

// (pads for F.pad / constant_pad_nd from the last axis) for a channels-last (B, S..., C) map.
std::vector<int64_t> high_end_pads(const std::vector<int64_t>& extra) {
  std::vector<int64_t> pads = {0, 0};  // channels
  for (auto it = extra.rbegin(); it != extra.rend(); ++it) {
    pads.push_back(0);
    pads.push_back(*it);
  }
  return pads;
}

std::vector<int64_t> spatial_sizes(const torch::Tensor& x, int64_t first, int64_t count) {
  std::vector<int64_t> sizes;
  for (int64_t i = 0; i < count; ++i) sizes.push_back(x.size(first + i));
  return sizes;
}

torch::Tensor channels_last(const torch::Tensor& x) { return x.movedim(1, -1); }
torch::Tensor channels_first(const torch::Tensor& x) { return x.movedim(-1, 1); }

}  // namespace

// ------------------------------------------------------------------------------------------------ window helpers

std::pair<std::vector<int64_t>, std::vector<int64_t>> swin_window_and_shift(const std::vector<int64_t>& sizes,
                                                                            const std::vector<int64_t>& window,
                                                                            const std::vector<int64_t>& shift) {
  check(sizes.size() == window.size() && shift.size() == window.size(),
        "Swin window: sizes ({}), window ({}) and shift ({}) must have the same length", fmt::join(sizes, ", "),
        fmt::join(window, ", "), fmt::join(shift, ", "));
  auto use_window = window;
  auto use_shift = shift;
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (sizes[i] <= window[i]) {
      use_window[i] = sizes[i];
      use_shift[i] = 0;
    }
  }
  return {use_window, use_shift};
}

torch::Tensor swin_window_partition(const torch::Tensor& x, const std::vector<int64_t>& window) {
  const auto k = static_cast<int64_t>(window.size());
  check(x.dim() == k + 2, "Swin window partition: expected a (B, {} sizes, C) map, got {}", k, shape_string(x));
  std::vector<int64_t> view = {x.size(0)}, order = {0};
  for (int64_t i = 0; i < k; ++i) {
    check(x.size(i + 1) % window[static_cast<size_t>(i)] == 0,
          "Swin window partition: size {} is not a multiple of the window {}", x.size(i + 1), window[i]);
    view.push_back(x.size(i + 1) / window[static_cast<size_t>(i)]);
    view.push_back(window[static_cast<size_t>(i)]);
  }
  view.push_back(x.size(-1));
  for (int64_t i = 0; i < k; ++i) order.push_back(1 + 2 * i);  // window grid axes first
  for (int64_t i = 0; i < k; ++i) order.push_back(2 + 2 * i);  // then the axes inside a window
  order.push_back(2 * k + 1);
  return x.reshape(view).permute(order).contiguous().view({-1, product(window), x.size(-1)});
}

torch::Tensor swin_window_reverse(const torch::Tensor& windows, const std::vector<int64_t>& window, int64_t batch,
                                  const std::vector<int64_t>& sizes) {
  const auto k = static_cast<int64_t>(window.size());
  std::vector<int64_t> view = {batch}, order = {0}, out = {batch};
  for (int64_t i = 0; i < k; ++i) view.push_back(sizes[static_cast<size_t>(i)] / window[static_cast<size_t>(i)]);
  for (int64_t i = 0; i < k; ++i) view.push_back(window[static_cast<size_t>(i)]);
  view.push_back(-1);
  for (int64_t i = 0; i < k; ++i) {
    order.push_back(1 + i);
    order.push_back(1 + k + i);
    out.push_back(sizes[static_cast<size_t>(i)]);
  }
  order.push_back(2 * k + 1);
  out.push_back(-1);
  return windows.reshape(view).permute(order).contiguous().view(out);
}

torch::Tensor swin_attention_mask(const std::vector<int64_t>& padded_sizes, const std::vector<int64_t>& window,
                                  const std::vector<int64_t>& shift, torch::Device device) {
  const size_t k = padded_sizes.size();
  check(k == 2 || k == 3, "Swin attention mask: 2 or 3 sizes expected, got {}", k);
  std::vector<int64_t> shape = {1};
  shape.insert(shape.end(), padded_sizes.begin(), padded_sizes.end());
  shape.push_back(1);
  auto img_mask = torch::zeros(shape, torch::TensorOptions().device(device));
  // Label every cell with its region number; later assignments overwrite earlier ones, as in MONAI's loop.
  std::vector<std::vector<std::pair<int64_t, int64_t>>> regions;
  for (size_t i = 0; i < k; ++i) regions.push_back(mask_regions(padded_sizes[i], window[i], shift[i]));
  const int64_t combos = k == 2 ? 9 : 27;
  for (int64_t cnt = 0; cnt < combos; ++cnt) {
    auto region = img_mask;
    int64_t rest = cnt;
    std::vector<int64_t> digit(k);
    for (size_t i = k; i-- > 0;) {
      digit[i] = rest % 3;
      rest /= 3;
    }
    for (size_t i = 0; i < k; ++i) {
      const auto [begin, end] = regions[i][static_cast<size_t>(digit[i])];
      region = region.narrow(static_cast<int64_t>(i) + 1, begin, end - begin);
    }
    region.fill_(static_cast<double>(cnt));
  }
  auto windows = swin_window_partition(img_mask, window).squeeze(-1);  // (windows, n)
  auto diff = windows.unsqueeze(1) - windows.unsqueeze(2);
  return torch::where(diff != 0, torch::full_like(diff, -100.0), torch::zeros_like(diff));
}

torch::Tensor swin_relative_position_index(const std::vector<int64_t>& window) {
  const auto k = static_cast<int64_t>(window.size());
  std::vector<torch::Tensor> axes;
  for (auto w : window) axes.push_back(torch::arange(w, torch::kLong));
  auto coords = torch::stack(torch::meshgrid(axes, "ij")).flatten(1);              // (k, n)
  auto relative = (coords.unsqueeze(2) - coords.unsqueeze(1)).permute({1, 2, 0}).clone();  // (n, n, k)
  for (int64_t i = 0; i < k; ++i) {
    int64_t stride = 1;
    for (int64_t j = i + 1; j < k; ++j) stride *= 2 * window[static_cast<size_t>(j)] - 1;
    relative.select(2, i).add_(window[static_cast<size_t>(i)] - 1).mul_(stride);
  }
  return relative.sum(-1);
}

// ---------------------------------------------------------------------------------------------- WindowAttention

WindowAttentionImpl::WindowAttentionImpl(int64_t dim, int64_t num_heads, std::vector<int64_t> window, bool qkv_bias,
                                         double attn_drop, double proj_drop)
    : num_heads_(num_heads) {
  check(dim > 0 && num_heads > 0 && dim % num_heads == 0,
        "Swin window attention: dim {} must be a positive multiple of num_heads {}", dim, num_heads);
  scale_ = 1.0 / std::sqrt(static_cast<double>(dim / num_heads));
  int64_t table = 1;
  for (auto w : window) table *= 2 * w - 1;
  // Registration order as in MONAI (table, index, qkv, proj) so state_dict keys come out in the same order.
  relative_position_bias_table_ = register_parameter("relative_position_bias_table", torch::zeros({table, num_heads}));
  trunc_normal_absolute_(relative_position_bias_table_, 0.0, 0.02, -2.0, 2.0);
  relative_position_index_ = register_buffer("relative_position_index", swin_relative_position_index(window));
  qkv_ = register_module("qkv", nn::Linear(nn::LinearOptions(dim, 3 * dim).bias(qkv_bias)));
  attn_drop_ = register_module("attn_drop", nn::Dropout(attn_drop));
  proj_ = register_module("proj", nn::Linear(dim, dim));
  proj_drop_ = register_module("proj_drop", nn::Dropout(proj_drop));
}

torch::Tensor WindowAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& mask) {
  const int64_t b = x.size(0), n = x.size(1), c = x.size(2);
  auto qkv = qkv_(x).reshape({b, n, 3, num_heads_, c / num_heads_}).permute({2, 0, 3, 1, 4});
  auto q = qkv[0] * scale_, k = qkv[1], v = qkv[2];
  auto attn = torch::matmul(q, k.transpose(-2, -1));
  // MONAI's [:n, :n] slice of the full-window index, also when the window was clamped to fewer tokens.
  auto index = relative_position_index_.narrow(0, 0, n).narrow(1, 0, n).reshape(-1);
  auto bias = relative_position_bias_table_.index_select(0, index).reshape({n, n, -1}).permute({2, 0, 1});
  attn = attn + bias.unsqueeze(0);
  if (mask.defined()) {
    const int64_t nw = mask.size(0);
    attn = attn.view({b / nw, nw, num_heads_, n, n}) + mask.unsqueeze(1).unsqueeze(0).to(attn.dtype());
    attn = attn.view({-1, num_heads_, n, n});
  }
  attn = attn_drop_(attn.softmax(-1)).to(v.dtype());
  auto out = torch::matmul(attn, v).transpose(1, 2).reshape({b, n, c});
  return proj_drop_(proj_(out));
}

// ----------------------------------------------------------------------------------------- SwinTransformerBlock

SwinTransformerBlockImpl::SwinTransformerBlockImpl(SwinBlockOptions o) : options_(std::move(o)) {
  const int64_t d = options_.dim();
  check(options_.drop_path() >= 0.0 && options_.drop_path() < 1.0, "Swin block: drop_path must be in [0, 1), got {}",
        options_.drop_path());
  norm1_ = register_module("norm1", nn::LayerNorm(nn::LayerNormOptions({d})));
  attn_ = register_module("attn", WindowAttention(d, options_.num_heads(), options_.window(), options_.qkv_bias(),
                                                  options_.attn_drop(), options_.drop()));
  norm2_ = register_module("norm2", nn::LayerNorm(nn::LayerNormOptions({d})));
  mlp_ = register_module("mlp", MLPBlock(d, static_cast<int64_t>(static_cast<double>(d) * options_.mlp_ratio()),
                                         options_.drop()));
}

torch::Tensor SwinTransformerBlockImpl::drop_path(const torch::Tensor& x) const {
  const double p = options_.drop_path();
  if (!is_training() || p == 0.0) return x;
  // Stochastic depth per sample, scaled by 1/keep (MONAI DropPath, scale_by_keep=True).
  std::vector<int64_t> shape(static_cast<size_t>(x.dim()), 1);
  shape[0] = x.size(0);
  auto keep = torch::empty(shape, x.options()).bernoulli_(1.0 - p).div_(1.0 - p);
  return x * keep;
}

torch::Tensor SwinTransformerBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& mask) {
  const int64_t k = x.dim() - 2;
  const auto sizes = spatial_sizes(x, 1, k);
  const auto [window, shift] = swin_window_and_shift(sizes, options_.window(), options_.shift());
  auto h = norm1_(x);
  std::vector<int64_t> extra, padded;
  for (int64_t i = 0; i < k; ++i) {
    const auto w = window[static_cast<size_t>(i)], s = sizes[static_cast<size_t>(i)];
    extra.push_back((w - s % w) % w);
    padded.push_back(s + extra.back());
  }
  if (any_positive(extra)) h = torch::constant_pad_nd(h, high_end_pads(extra), 0.0);  // zeros AFTER norm1, as MONAI
  std::vector<int64_t> axes, back, forth;
  for (int64_t i = 0; i < k; ++i) {
    axes.push_back(1 + i);
    back.push_back(-shift[static_cast<size_t>(i)]);
    forth.push_back(shift[static_cast<size_t>(i)]);
  }
  const bool shifted = any_positive(shift);
  if (shifted) h = torch::roll(h, back, axes);
  auto windows = attn_(swin_window_partition(h, window), shifted ? mask : torch::Tensor());
  h = swin_window_reverse(windows, window, x.size(0), padded);
  if (shifted) h = torch::roll(h, forth, axes);
  if (any_positive(extra))
    for (int64_t i = 0; i < k; ++i) h = h.narrow(1 + i, 0, sizes[static_cast<size_t>(i)]);
  auto out = x + drop_path(h.contiguous());
  return out + drop_path(mlp_(norm2_(out)));
}

// -------------------------------------------------------------------------------------------------- PatchMerging

PatchMergingImpl::PatchMergingImpl(int64_t dim, int spatial_dims, std::string merge_order)
    : spatial_dims_(spatial_dims), merge_order_(std::move(merge_order)) {
  check_spatial_dims(spatial_dims, "Swin patch merging");
  check(merge_order_ == "monai_1.2" || merge_order_ == "monai_1.5",
        "Swin patch merging: merge_order must be \"monai_1.2\" or \"monai_1.5\", got \"{}\"", merge_order_);
  const int64_t corners = spatial_dims == 3 ? 8 : 4;
  // MONAI registers reduction before norm.
  reduction_ = register_module("reduction", nn::Linear(nn::LinearOptions(corners * dim, 2 * dim).bias(false)));
  norm_ = register_module("norm", nn::LayerNorm(nn::LayerNormOptions({corners * dim})));
}

torch::Tensor PatchMergingImpl::forward(const torch::Tensor& x) {
  check(x.dim() == spatial_dims_ + 2, "Swin patch merging: expected a (B, {} sizes, C) map, got {}", spatial_dims_,
        shape_string(x));
  std::vector<int64_t> extra;
  for (int i = 0; i < spatial_dims_; ++i) extra.push_back(x.size(1 + i) % 2);
  auto h = any_positive(extra) ? torch::constant_pad_nd(x, high_end_pads(extra), 0.0) : x;
  // Corner offsets per axis (D, H, W) or (H, W).
  std::vector<std::vector<int64_t>> corners;
  if (spatial_dims_ == 2) {
    corners = {{0, 0}, {1, 0}, {0, 1}, {1, 1}};
  } else if (merge_order_ == "monai_1.2") {
    corners = {{0, 0, 0}, {1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {1, 0, 1}, {0, 1, 0}, {0, 0, 1}, {1, 1, 1}};
  } else {
    corners = {{0, 0, 0}, {1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {1, 1, 0}, {1, 0, 1}, {0, 1, 1}, {1, 1, 1}};
  }
  std::vector<torch::Tensor> parts;
  for (const auto& corner : corners) {
    auto part = h;
    for (int i = 0; i < spatial_dims_; ++i) part = part.slice(1 + i, corner[static_cast<size_t>(i)], part.size(1 + i), 2);
    parts.push_back(part);
  }
  return reduction_(norm_(torch::cat(parts, -1)));
}

// ------------------------------------------------------------------------------------------------------ SwinStage

SwinStageImpl::SwinStageImpl(const std::vector<SwinBlockOptions>& blocks, int spatial_dims,
                             const std::string& merge_order) {
  check(!blocks.empty(), "Swin stage: depth must be at least 1");
  window_ = blocks.front().window();
  for (auto w : window_) shift_.push_back(w / 2);
  blocks_ = register_module("blocks", nn::ModuleList());
  for (const auto& options : blocks) {
    block_list_.emplace_back(options);
    blocks_->push_back(block_list_.back());
  }
  downsample_ = register_module("downsample", PatchMerging(blocks.front().dim(), spatial_dims, merge_order));
}

torch::Tensor SwinStageImpl::forward(const torch::Tensor& x) {
  const int64_t k = x.dim() - 2;
  const auto sizes = spatial_sizes(x, 2, k);
  const auto [window, shift] = swin_window_and_shift(sizes, window_, shift_);
  std::vector<int64_t> padded;
  for (int64_t i = 0; i < k; ++i) {
    const auto w = window[static_cast<size_t>(i)];
    padded.push_back((sizes[static_cast<size_t>(i)] + w - 1) / w * w);
  }
  const auto mask = swin_attention_mask(padded, window, shift, x.device());
  auto h = channels_last(x);
  for (auto& block : block_list_) h = block(h, mask);
  return channels_first(downsample_(h));
}

// ------------------------------------------------------------------------------------------------ SwinTransformer

torch::Tensor swin_normalize_channels(const torch::Tensor& x) {
  return channels_first(torch::layer_norm(channels_last(x), {x.size(1)}));
}

SwinTransformerImpl::SwinTransformerImpl(SwinTransformerOptions options) : options_(std::move(options)) {
  const int dims = options_.spatial_dims();
  check_spatial_dims(dims, "Swin transformer");
  const auto window = expand_spatial(options_.window_size(), dims, "Swin transformer window_size");
  patch_ = expand_spatial(options_.patch_size(), dims, "Swin transformer patch_size");
  const auto& depths = options_.depths();
  const auto& heads = options_.num_heads();
  check(depths.size() == kNumStages && heads.size() == kNumStages,
        "Swin transformer: depths ({}) and num_heads ({}) must have {} entries each (MONAI's layers1..layers4)",
        fmt::join(depths, ", "), fmt::join(heads, ", "), kNumStages);
  check(options_.in_channels() > 0 && options_.embed_dim() > 0,
        "Swin transformer: in_channels ({}) and feature size ({}) must be positive", options_.in_channels(),
        options_.embed_dim());
  for (auto rate : {options_.drop_rate(), options_.attn_drop_rate(), options_.drop_path_rate()})
    check(rate >= 0.0 && rate <= 1.0, "Swin transformer: dropout rates must be in [0, 1], got {}", rate);
  check(options_.mlp_ratio() > 0.0, "Swin transformer: mlp_ratio must be positive");

  patch_conv_ = make_patch_conv(dims, options_.in_channels(), options_.embed_dim(), patch_, /*transposed=*/false);
  auto patch_embed = register_module("patch_embed", std::make_shared<nn::Module>("PatchEmbed"));
  patch_embed->register_module("proj", patch_conv_.ptr());
  pos_drop_ = register_module("pos_drop", nn::Dropout(options_.drop_rate()));

  // Stochastic depth rates torch.linspace(0, rate, sum(depths)), assigned to the blocks in order.
  const int64_t total_blocks = std::accumulate(depths.begin(), depths.end(), int64_t{0});
  int64_t block_index = 0;
  std::vector<int64_t> shift;
  for (auto w : window) shift.push_back(w / 2);
  const std::vector<int64_t> no_shift(window.size(), 0);
  for (int stage = 0; stage < kNumStages; ++stage) {
    const auto s = static_cast<size_t>(stage);
    check(depths[s] > 0 && heads[s] > 0, "Swin transformer: depth and heads of stage {} must be positive", stage + 1);
    const int64_t dim = options_.embed_dim() << stage;
    check(dim % heads[s] == 0, "Swin transformer: stage {} width {} is not divisible by its {} heads", stage + 1, dim,
          heads[s]);
    std::vector<SwinBlockOptions> blocks;
    for (int64_t b = 0; b < depths[s]; ++b, ++block_index) {
      const double rate = total_blocks > 1 ? options_.drop_path_rate() * static_cast<double>(block_index) /
                                                 static_cast<double>(total_blocks - 1)
                                           : 0.0;
      blocks.push_back(SwinBlockOptions(dim, heads[s], window, b % 2 == 0 ? no_shift : shift)
                           .mlp_ratio(options_.mlp_ratio())
                           .qkv_bias(options_.qkv_bias())
                           .drop(options_.drop_rate())
                           .attn_drop(options_.attn_drop_rate())
                           .drop_path(rate));
    }
    auto holder = register_module("layers" + std::to_string(stage + 1), nn::ModuleList());
    stages_.emplace_back(blocks, dims, options_.merge_order());
    holder->push_back(stages_.back());
  }
}

std::vector<torch::Tensor> SwinTransformerImpl::forward(const torch::Tensor& x, bool normalize) {
  const int dims = options_.spatial_dims();
  check(x.dim() == dims + 2 && x.size(1) == options_.in_channels(),
        "Swin transformer: expected input (B, {}, {} sizes), got {}", options_.in_channels(), dims, shape_string(x));
  // PatchEmbed: pad each axis at its high end to a multiple of the patch.
  std::vector<int64_t> extra;
  for (int i = 0; i < dims; ++i) {
    const auto p = patch_[static_cast<size_t>(i)];
    extra.push_back((p - x.size(2 + i) % p) % p);
  }
  std::vector<int64_t> pads;
  for (int i = dims; i-- > 0;) {
    pads.push_back(0);
    pads.push_back(extra[static_cast<size_t>(i)]);
  }
  auto h = any_positive(extra) ? torch::constant_pad_nd(x, pads, 0.0) : x;
  h = pos_drop_(patch_conv_.forward(h));
  std::vector<torch::Tensor> outputs;
  auto project = [normalize](const torch::Tensor& t) { return normalize ? swin_normalize_channels(t) : t; };
  outputs.push_back(project(h));
  for (auto& stage : stages_) {
    h = stage(h.contiguous());
    outputs.push_back(project(h));
  }
  return outputs;
}

torch::Tensor SwinTransformerImpl::pooled_features(const torch::Tensor& x) {
  return forward(x, /*normalize=*/true).back().flatten(2).mean(2);
}

}  // namespace medssl::models
