#include "medssl/train/train_config.h"

#include <algorithm>
#include <thread>

namespace medssl::train {

using config::Type;
using json = nlohmann::json;

const config::Schema& training_schema() {
  static const config::Schema schema = [] {
    config::Schema s("training");
    s.key("epochs", Type::integer, 250, "number of epochs (reference default 250)").range("epochs", 1, std::nullopt);
    s.key("batch_size", Type::integer, 2, "samples per optimiser step (with several processes: the global batch, split evenly among them)").range("batch_size", 1, std::nullopt);
    s.optional("lr", Type::number, "learning rate (default: the method's reference default)");
    s.range("lr", 0.0, std::nullopt);
    s.key("optimizer", Type::string, "adam", "adam | adamw | sgd").choices("optimizer", {"adam", "adamw", "sgd"});
    s.key("adam_epsilon", Type::number, 1e-7, "Adam epsilon (Keras default 1e-7, as the reference; PyTorch uses 1e-8)");
    s.range("adam_epsilon", 0.0, 1.0);
    s.key("weight_decay", Type::number, 0.0, "L2 (adam, sgd) or decoupled (adamw) weight decay").range("weight_decay", 0.0, std::nullopt);
    s.key("momentum", Type::number, 0.9, "SGD momentum").range("momentum", 0.0, 1.0);
    s.key("lr_schedule", Type::string, "constant", "constant | cosine | warmup_cosine");
    s.choices("lr_schedule", {"constant", "cosine", "warmup_cosine"});
    s.key("warmup_epochs", Type::number, 0, "linear warm-up length in epochs (warmup_cosine)").range("warmup_epochs", 0.0, std::nullopt);
    s.key("end_lr", Type::number, 0.0, "final learning rate of the cosine schedules").range("end_lr", 0.0, std::nullopt);
    s.optional("clipnorm", Type::number, "clip each gradient tensor to this L2 norm (Keras clipnorm)");
    s.range("clipnorm", 0.0, std::nullopt);
    s.optional("clipvalue", Type::number, "clip gradients element-wise to [-v, v] (Keras clipvalue)");
    s.range("clipvalue", 0.0, std::nullopt);
    s.optional("clip_global_norm", Type::number, "clip the global gradient norm (torch clip_grad_norm_)");
    s.range("clip_global_norm", 0.0, std::nullopt);
    s.key("validate_every", Type::integer, 1, "epochs between validations").range("validate_every", 1, std::nullopt);
    s.key("steps_per_epoch", Type::integer, 0, "optimiser steps per epoch (0 = one pass over the training data)");
    s.range("steps_per_epoch", 0, std::nullopt);
    s.key("early_stopping_patience", Type::integer, 0, "stop after this many validations without improvement (0 = off)");
    s.range("early_stopping_patience", 0, std::nullopt);
    s.key("nan_policy", Type::string, "stop", "non-finite loss: stop (error naming the step) or skip the batch");
    s.choices("nan_policy", {"stop", "skip"});
    s.key("seed", Type::integer, 0, "seed of every random choice (data order, augmentation, initialisation)");
    s.range("seed", 0, std::nullopt);
    s.key("device", Type::string, "cpu", "cpu | cuda | cuda:N");
    s.key("amp", Type::string, "none", "mixed precision on CUDA: none | bf16 | fp16").choices("amp", {"none", "bf16", "fp16"});
    s.key("memory_format", Type::string, "auto", "convolution weights' memory layout: auto (channels-last where measured faster: 2D DenseNet on CPU, every convolutional network on CUDA) | contiguous | channels_last");
    s.choices("memory_format", {"auto", "contiguous", "channels_last"});
    s.key("checkpoint_every_steps", Type::integer, 0, "also write last.pt every N steps (it is always written per epoch)");
    s.range("checkpoint_every_steps", 0, std::nullopt);
    s.key("workers", Type::integer, -1, "data loader threads (-1 = min(4, cores))").range("workers", -1, 64);
    s.key("prefetch", Type::integer, 4, "batches prepared ahead of the trainer").range("prefetch", 1, 256);
    s.key("sync_bn", Type::boolean, false, "multi-process runs (--nproc, torchrun, srun): BatchNorm statistics over the global batch instead of each process's shard (docs/distributed.md)");
    return s;
  }();
  return schema;
}

TrainerOptions trainer_options_from(const config::Config& c, const std::string& run_dir, double default_lr) {
  TrainerOptions o;
  o.epochs = c.get<int64_t>("epochs");
  o.steps_per_epoch = c.get<int64_t>("steps_per_epoch");
  o.validate_every = c.get<int64_t>("validate_every");
  o.checkpoint_every_steps = c.get<int64_t>("checkpoint_every_steps");
  o.early_stopping_patience = c.get<int64_t>("early_stopping_patience");
  o.nan_policy = c.get<std::string>("nan_policy");
  o.seed = c.get<uint64_t>("seed");
  o.device = c.get<std::string>("device");
  o.amp = c.get<std::string>("amp");
  o.memory_format = c.get<std::string>("memory_format");
  o.sync_bn = c.get<bool>("sync_bn");
  o.run_dir = run_dir;

  const double lr = c.has("lr") ? c.get<double>("lr") : default_lr;
  const std::string type = c.get<std::string>("optimizer");
  if (type == "sgd") {
    o.optimizer.type = "sgd";
    o.optimizer.momentum = c.get<double>("momentum");
  } else {
    o.optimizer.type = type;
    o.optimizer.eps = c.get<double>("adam_epsilon");
  }
  o.optimizer.lr = lr;
  o.optimizer.weight_decay = c.get<double>("weight_decay");

  o.schedule.type = c.get<std::string>("lr_schedule");
  o.schedule.end_lr = c.get<double>("end_lr");
  o.schedule.warmup_start_lr = 0.0;
  // warm-up steps are resolved by the caller once steps per epoch are known (warmup_epochs * steps_per_epoch).

  if (c.has("clipnorm")) o.clip.max_tensor_norm = c.get<double>("clipnorm");
  if (c.has("clipvalue")) o.clip.max_value = c.get<double>("clipvalue");
  if (c.has("clip_global_norm")) o.clip.max_global_norm = c.get<double>("clip_global_norm");
  o.config_json = c.raw().dump();
  return o;
}

LoaderSettings loader_settings_from(const config::Config& c) {
  LoaderSettings s;
  const int64_t workers = c.get<int64_t>("workers");
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  s.workers = workers < 0 ? std::min(4, cores) : static_cast<int>(workers);
  s.prefetch = static_cast<int>(c.get<int64_t>("prefetch"));
  return s;
}

}  // namespace medssl::train
