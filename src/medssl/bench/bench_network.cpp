#include "medssl/bench/bench_network.h"

#include <algorithm>

#include "medssl/bench/bench_stats.h"
#include "medssl/config/config.h"
#include "medssl/core/error.h"
#include "medssl/finetune/finetune_model.h"
#include "medssl/pretext/pretrain.h"

namespace medssl::bench {

namespace {

struct ModelCase {
  const char* name;
  const char* architecture;
  const char* task;  // segmentation | classification
  int spatial_dims;  // 0 = from the input
  int64_t outputs;
};

// The `--model` cases and what they build (FinetuneModelSpec fields).
const std::vector<ModelCase>& model_cases() {
  static const std::vector<ModelCase> cases = {
      {"unet3d", "unet_3d_upconv", "segmentation", 3, 3},
      {"unet2d", "unet_2d_upconv", "segmentation", 2, 3},
      {"densenet121_2d", "densenet121_classifier", "classification", 2, 5},
      {"unetr", "unetr", "segmentation", 0, 3},
      {"swinunetr", "swinunetr", "segmentation", 0, 3},
  };
  return cases;
}

std::vector<int64_t> with_batch(int64_t batch, std::vector<int64_t> sizes) {
  sizes.insert(sizes.begin(), batch);
  return sizes;
}

BenchNetwork build_model_case(const NetworkRequest& r, const ModelCase& c) {
  const int dims = static_cast<int>(r.input.size()) - 1;
  check(c.spatial_dims == 0 || c.spatial_dims == dims, "bench: --model {} needs a {}D --input (C x {}), got {}",
        c.name, c.spatial_dims, c.spatial_dims == 3 ? "D x H x W" : "H x W", format_sizes(r.input));
  // check() evaluates its message arguments even when it passes: never call front() on an empty list there.
  if (!r.sets.empty()) fail("bench: --set applies to --task cases only (got {} for --model {})", r.sets.front(), c.name);
  finetune::FinetuneModelSpec spec;
  spec.task = c.task;
  spec.architecture = c.architecture;
  spec.spatial_dims = dims;
  spec.in_channels = r.input.front();
  spec.num_outputs = c.outputs;
  const std::vector<int64_t> spatial(r.input.begin() + 1, r.input.end());
  if (std::string(c.architecture) == "unetr" || std::string(c.architecture) == "swinunetr")
    spec.encoder_options = {{"img_size", spatial}};
  auto model = std::make_shared<finetune::FinetuneModel>(finetune::build_finetune_model(spec));

  BenchNetwork net;
  net.label = fmt::format("model={}", c.name);
  net.module = model->module;
  net.batch.tensors["image"] = torch::rand(with_batch(r.batch, r.input));
  net.batch.tensors["label"] = spec.task == "segmentation"
                                   ? torch::randint(0, c.outputs, with_batch(r.batch, spatial), torch::kInt64)
                                   : torch::randint(0, c.outputs, {r.batch}, torch::kInt64);
  net.batch.size = r.batch;
  net.forward = [model](const torch::Tensor& x) { return model->forward(x); };
  net.step = [model](const train::Batch& batch, train::StepContext&) {
    train::StepOutput out;
    out.loss = torch::cross_entropy_loss(model->forward(batch.at("image")).to(torch::kFloat32), batch.at("label"));
    return out;
  };
  return net;
}

BenchNetwork build_task_case(const NetworkRequest& r) {
  const int dims = static_cast<int>(r.input.size()) - 1;
  const int64_t side = r.input[1];
  check(std::all_of(r.input.begin() + 1, r.input.end(), [&](int64_t s) { return s == side; }),
        "bench: pretext tasks take square / cubic images, got --input {}", format_sizes(r.input));
  const pretext::TaskSpec spec = bench_task_spec(r.task, dims, r.input.front(), side, r.sets);
  std::shared_ptr<pretext::PretextTask> task = pretext::make_task(r.task, spec);
  std::shared_ptr<pretext::PretextModelImpl> model = task->build_model();

  std::vector<pretext::Sample> samples;
  for (int64_t i = 0; i < r.batch; ++i) {
    pretext::Sample s;
    s.index = i;
    s.image = torch::rand(r.input);
    if (task->needs_negative()) s.negative = torch::rand(r.input);
    samples.push_back(std::move(s));
  }
  Rng rng = Rng::derive(r.seed, "bench-batch");
  BenchNetwork net;
  {
    torch::NoGradGuard no_grad;  // batches are data, as in the loader threads
    net.batch = task->make_batch(samples, rng, /*training=*/true);
  }
  net.label = fmt::format("task={}", r.task);
  net.module = model;
  net.task = task;
  net.param_groups = task->param_group_rules();
  net.no_decay_for_bias_and_1d = task->no_weight_decay_for_bias_and_norm();
  net.step = [task, model](const train::Batch& batch, train::StepContext&) { return task->step(*model, batch); };
  return net;
}

}  // namespace

pretext::TaskSpec bench_task_spec(const std::string& task, int dims, int64_t channels, int64_t side,
                                  const std::vector<std::string>& sets) {
  // A pretrain config of this task at this size: the bench network is exactly what `medssl pretrain` would build.
  nlohmann::json doc = {{"algorithm", task}, {"data_dir", "(bench: random images)"}, {"data_dim", side}};
  config::apply_overrides(doc, sets);
  const config::Config c = config::validate(doc, pretext::pretrain_schema(), "bench --set");
  return pretext::task_spec_from_config(c, dims, channels);
}

const std::vector<std::string>& model_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& c : model_cases()) out.push_back(c.name);
    return out;
  }();
  return names;
}

BenchNetwork build_bench_network(const NetworkRequest& r) {
  check(r.model.empty() != r.task.empty(), "bench: give exactly one of --model and --task");
  check(r.input.size() == 3 || r.input.size() == 4, "bench: --input must be C x H x W or C x D x H x W, got {}",
        format_sizes(r.input));
  check(r.batch >= 1, "bench: --batch must be >= 1, got {}", r.batch);
  torch::manual_seed(r.seed);
  if (!r.task.empty()) return build_task_case(r);
  for (const auto& c : model_cases())
    if (r.model == c.name) return build_model_case(r, c);
  std::string names;
  for (const auto& n : model_names()) names += (names.empty() ? "" : ", ") + n;
  fail("bench: unknown --model \"{}\" (known: {}; pretext tasks go with --task)", r.model, names);
}

nlohmann::ordered_json batch_shapes(const train::Batch& batch) {
  nlohmann::ordered_json shapes = nlohmann::ordered_json::object();
  for (const auto& [name, tensor] : batch.tensors) shapes[name] = tensor.sizes().vec();
  return shapes;
}

}  // namespace medssl::bench
