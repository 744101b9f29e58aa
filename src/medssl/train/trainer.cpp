#include "medssl/train/trainer.h"

#include <chrono>
#include <cmath>

#include "medssl/core/atomic_file.h"
#include "medssl/core/error.h"
#include "medssl/core/log.h"
#include "medssl/core/progress.h"
#include "medssl/models/sync_batch_norm.h"
#include "medssl/train/freeze.h"
#include "medssl/train/memory_format.h"

namespace medssl::train {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string val_name(const std::string& name) { return name.rfind("val_", 0) == 0 ? name : "val_" + name; }

// Only the main rank of a data-parallel run writes files.
std::string files_dir(const TrainerOptions& o) {
  return o.distributed && !o.distributed->is_main() ? std::string() : o.run_dir;
}

}  // namespace

/// Sums over the steps of the current epoch; serialised into mid-epoch checkpoints so a resumed epoch reports the
/// same means as an uninterrupted one.
struct Trainer::EpochAccumulators {
  double loss_sum = 0.0;  // sample-weighted
  int64_t samples = 0;    // of the steps that counted (not skipped)
  int64_t steps = 0;
  int64_t skipped = 0;
  double wait_s = 0.0, train_s = 0.0;
  double last_lr = 0.0;
  std::map<std::string, double> metric_sums;

  nlohmann::json to_json() const {
    return {{"loss_sum", loss_sum}, {"samples", samples}, {"steps", steps},     {"skipped", skipped},
            {"wait_s", wait_s},     {"train_s", train_s}, {"last_lr", last_lr}, {"metric_sums", metric_sums}};
  }
  static EpochAccumulators from_json(const nlohmann::json& j) {
    EpochAccumulators a;
    a.loss_sum = j.at("loss_sum").get<double>();
    a.samples = j.at("samples").get<int64_t>();
    a.steps = j.at("steps").get<int64_t>();
    a.skipped = j.at("skipped").get<int64_t>();
    a.wait_s = j.at("wait_s").get<double>();
    a.train_s = j.at("train_s").get<double>();
    a.last_lr = j.at("last_lr").get<double>();
    a.metric_sums = j.at("metric_sums").get<std::map<std::string, double>>();
    return a;
  }
};

Trainer::Trainer(std::shared_ptr<torch::nn::Module> model, BatchSource& source, StepFn step, EvalFn evaluate,
                 TrainerOptions options)
    : model_(std::move(model)),
      source_(source),
      step_(std::move(step)),
      evaluate_(std::move(evaluate)),
      options_(std::move(options)),
      metrics_(files_dir(options_)) {
  const auto& o = options_;
  check(model_ != nullptr, "Trainer needs a model");
  check(static_cast<bool>(step_), "Trainer needs a step function");
  check(o.epochs > 0, "trainer: epochs must be > 0, got {}", o.epochs);
  check(o.steps_per_epoch >= 0, "trainer: steps_per_epoch must be >= 0, got {}", o.steps_per_epoch);
  check(o.validate_every > 0, "trainer: validate_every must be > 0, got {}", o.validate_every);
  check(o.checkpoint_every_steps >= 0, "trainer: checkpoint_every_steps must be >= 0");
  check(o.monitor_mode == "min" || o.monitor_mode == "max", "trainer: monitor_mode must be min or max, got '{}'",
        o.monitor_mode);
  check(o.nan_policy == "stop" || o.nan_policy == "skip", "trainer: nan_policy must be stop or skip, got '{}'",
        o.nan_policy);
  check(o.early_stopping_patience >= 0, "trainer: early_stopping patience must be >= 0");
  check(o.early_stopping_patience == 0 || !o.monitor.empty(), "trainer: early stopping needs a monitor metric");
  check(o.monitor.rfind("val_", 0) != 0 || static_cast<bool>(evaluate_),
        "trainer: monitor '{}' is a validation metric but no evaluation function was given (monitor train_loss, or "
        "set monitor to \"\")",
        o.monitor);
  check(o.frozen_prefixes.empty() || o.unfreeze_at_epoch < o.epochs,
        "trainer: unfreeze_at_epoch ({}) must be smaller than epochs ({})", o.unfreeze_at_epoch, o.epochs);

  int64_t source_size = source_.size();
  steps_per_epoch_ = o.steps_per_epoch > 0 ? o.steps_per_epoch : source_size;
  check(steps_per_epoch_ > 0, "trainer: the batch source has no fixed length; set steps_per_epoch");
  check(source_size <= 0 || steps_per_epoch_ <= source_size,
        "trainer: steps_per_epoch {} exceeds the {} batches the source has per epoch", steps_per_epoch_, source_size);

  amp_ = parse_amp_mode(o.amp);
  writes_files_ = !files_dir(o).empty();
}

Trainer::~Trainer() = default;

std::string Trainer::checkpoint_dir() const { return options_.run_dir + "/checkpoints"; }
std::string Trainer::last_checkpoint_path() const { return checkpoint_dir() + "/last.pt"; }
std::string Trainer::best_checkpoint_path() const { return checkpoint_dir() + "/best.pt"; }

bool Trainer::frozen_at(int64_t epoch) const {
  if (options_.frozen_prefixes.empty()) return false;
  return options_.unfreeze_at_epoch < 0 || epoch < options_.unfreeze_at_epoch;
}

void Trainer::set_frozen(bool frozen) {
  for (const auto& prefix : options_.frozen_prefixes) {
    if (frozen) {
      freeze(*model_, prefix);
    } else {
      unfreeze(*model_, prefix);
    }
  }
  frozen_ = frozen;
}

void Trainer::rebuild_optimizer() { optimizer_ = build_optimizer(*model_, options_.optimizer); }

void Trainer::setup() {
  const auto& o = options_;
  const std::string device = o.distributed ? o.distributed->rank_device(o.device) : o.device;
  try {
    device_ = torch::Device(device);
  } catch (const std::exception&) {
    fail("trainer: device '{}' is not valid (use cpu, cuda or cuda:N)", o.device);
  }
  if (device_.is_cuda()) {
    check(torch::cuda::is_available(), "trainer: device '{}' requested but CUDA is not available on this machine",
          o.device);
  } else if (amp_ != AmpMode::none) {
    log::warn("amp '{}' needs a CUDA device; training on {} in fp32", to_string(amp_), o.device);
    amp_ = AmpMode::none;
  }
  model_->to(device_);
  channels_last_ = use_channels_last(o.memory_format, *model_, device_);
  if (channels_last_) {
    convert_to_channels_last(*model_);
    log::debug("{}: convolution weights in channels-last memory format (memory_format {})", o.label, o.memory_format);
  }

  ScheduleOptions so = o.schedule;
  so.base_lr = o.optimizer.lr;
  if (so.total_steps == 0) so.total_steps = o.epochs * steps_per_epoch_;
  schedule_ = LrSchedule(so);
  if (writes_files_) {
    make_dirs(o.run_dir);
    if (o.save_checkpoints) make_dirs(checkpoint_dir());
  }
}

FitResult Trainer::fit() {
  setup();
  state_ = TrainingState{};
  state_.config_json = options_.config_json;
  state_.manifest_json = options_.manifest.dump();
  partial_.reset();
  set_frozen(frozen_at(0));
  rebuild_optimizer();
  torch::manual_seed(options_.seed);
  rng_ = Rng::derive(options_.seed, "trainer");
  metrics_.reload(0);
  if (options_.distributed) {
    // Every rank starts from rank 0's weights (they already agree when built from the same seed; this makes sure).
    broadcast_module_state(*options_.distributed, *model_, /*parameters=*/true, /*buffers=*/true);
    log::info("{}: data parallel over {} processes ({}), rank 0 writes {}", options_.label,
              options_.distributed->world_size(), options_.distributed->backend(),
              options_.run_dir.empty() ? "no files" : options_.run_dir);
  }
  return run_loop();
}

FitResult Trainer::resume(const std::string& checkpoint_path) {
  setup();
  // The optimiser saved in the checkpoint covers the parameters trainable when it was written: at an epoch boundary
  // that is the freeze state of the epoch just finished.
  Checkpoint header = read_checkpoint_state(checkpoint_path);
  int64_t saved_in = header.state.step_in_epoch == 0 && header.state.epoch > 0 ? header.state.epoch - 1
                                                                                : header.state.epoch;
  set_frozen(frozen_at(saved_in));
  rebuild_optimizer();
  Checkpoint ck = load_checkpoint(checkpoint_path, *model_, optimizer_.optimizer.get());
  state_ = ck.state;
  state_.config_json = options_.config_json.empty() ? ck.state.config_json : options_.config_json;
  state_.manifest_json = ck.state.manifest_json;
  check(state_.epoch <= options_.epochs, "cannot resume {}: it is at epoch {} but the run has only {} epochs",
        checkpoint_path, state_.epoch, options_.epochs);
  schedule_.set_step(state_.schedule_step);
  restore_torch_rng(ck.torch_cpu_rng_state);
  restore_torch_cuda_rng(ck.torch_cuda_rng_states);
  restore_rng_state(rng_, state_.rng_state);
  partial_.reset();
  if (state_.step_in_epoch > 0) {
    check(state_.step_in_epoch < steps_per_epoch_,
          "cannot resume {}: it is at step {} of an epoch but an epoch now has {} steps", checkpoint_path,
          state_.step_in_epoch, steps_per_epoch_);
    source_.restore(state_.data_state);
    try {
      partial_ = std::make_unique<EpochAccumulators>(
          EpochAccumulators::from_json(nlohmann::json::parse(state_.epoch_accumulators)));
    } catch (const nlohmann::json::exception& e) {
      fail("checkpoint {}: malformed epoch accumulators: {}", checkpoint_path, e.what());
    }
  }
  metrics_.reload(state_.epoch);
  log::info("resuming {} at epoch {} step {} (global step {})", checkpoint_path, state_.epoch + 1,
            state_.step_in_epoch, state_.global_step);
  return run_loop();
}

void Trainer::save_checkpoint_to(const std::string& path) {
  state_.schedule_step = schedule_.step();
  state_.rng_state = rng_state_string(rng_);
  save_checkpoint(path, *model_, optimizer_.optimizer.get(), state_);
}

void Trainer::write_last_checkpoint() {
  if (!writes_files_ || !options_.save_checkpoints) return;
  save_checkpoint_to(last_checkpoint_path());
  nlohmann::json manifest = options_.manifest;
  if (!manifest.is_object()) manifest = nlohmann::json{{"manifest", manifest}};
  manifest["checkpoint"] = {{"file", "last.pt"},
                            {"epoch", state_.epoch},
                            {"step_in_epoch", state_.step_in_epoch},
                            {"global_step", state_.global_step},
                            {"monitor", options_.monitor},
                            {"best_metric", std::isnan(state_.best_metric) ? nlohmann::json() : nlohmann::json(state_.best_metric)},
                            {"best_epoch", state_.best_epoch}};
  write_file_atomic(checkpoint_dir() + "/last.json", manifest.dump(2) + "\n");
}

// Data parallel: the ranks must not share dropout masks or trainer draws, and a resume must replay them at any step
// without every rank's generator state in the checkpoint, so each step's streams come from (seed, step, rank).
void Trainer::reseed_for_rank() {
  const auto& dist = *options_.distributed;
  const uint64_t index = static_cast<uint64_t>(state_.global_step) * static_cast<uint64_t>(dist.world_size()) +
                         static_cast<uint64_t>(dist.rank());
  torch::manual_seed(Rng::derive(options_.seed, "distributed-torch", index).next_u64() & 0x7fffffffffffULL);
  rng_ = Rng::derive(options_.seed, "distributed-trainer", index);
}

// Rank 0's decision (validation and early stopping run there only), the same on every rank.
bool Trainer::decided_by_main(bool flag) {
  if (!options_.distributed) return flag;
  torch::Tensor t = torch::tensor({flag ? 1 : 0}, torch::kInt32);
  options_.distributed->broadcast_(t, 0, "the early-stopping decision");
  return t.item<int>() != 0;
}

void Trainer::train_one_step(int64_t epoch, int64_t steps, EpochAccumulators& acc) {
  auto step_start = Clock::now();
  Batch batch = source_.next();
  acc.wait_s += seconds_since(step_start);
  if (!device_.is_cpu()) batch = batch.to(device_);
  ProcessGroup* dist = options_.distributed.get();
  if (dist) {
    reseed_for_rank();
    // Like DDP's broadcast_buffers: BatchNorm running statistics (and any other buffer) follow rank 0.
    broadcast_module_state(*dist, *model_, /*parameters=*/false, /*buffers=*/true);
  }

  auto& opt = *optimizer_.optimizer;
  schedule_.apply(opt, optimizer_.groups);
  double lr = schedule_.lr_at(schedule_.step());
  StepContext ctx{epoch, state_.step_in_epoch, state_.global_step, lr, device_, &rng_};
  opt.zero_grad();
  // sync_bn: BatchNorm synchronises during this step's forward and backward passes only, never in validation or in
  // anything rank 0 runs alone (e.g. a BatchNorm recalibration before validating).
  std::unique_ptr<models::BatchNormSyncScope> sync_bn;
  if (dist && options_.sync_bn)
    sync_bn = std::make_unique<models::BatchNormSyncScope>(
        [dist](torch::Tensor& t) { dist->all_reduce_sum_(t, "BatchNorm statistics"); });
  StepOutput out;
  {
    AutocastScope autocast(amp_);
    out = step_(batch, ctx);
  }
  check(out.loss.defined() && out.loss.numel() == 1, "the step function must return a scalar loss (epoch {} step {})",
        epoch + 1, state_.step_in_epoch + 1);
  double loss = out.loss.detach().to(torch::kFloat64).item<double>();
  // What the epoch means add up: this batch's, or in a data-parallel run the global batch's (one all-reduce of
  // [non-finite ranks, loss * samples, samples, metric * samples...]; metric names are the same on every rank).
  bool finite = std::isfinite(loss);
  double samples = static_cast<double>(batch.size), loss_sum = loss * samples;
  std::map<std::string, double> metric_sums;
  for (const auto& [k, v] : out.metrics) metric_sums[k] = v * samples;
  int64_t bad_ranks = finite ? 0 : 1;
  if (dist) {
    std::vector<double> packed{finite ? 0.0 : 1.0, finite ? loss_sum : 0.0, samples};
    for (const auto& [k, v] : metric_sums) packed.push_back(finite ? v : 0.0);
    torch::Tensor t = torch::tensor(packed, torch::kFloat64);
    dist->all_reduce_sum_(t, "the step's loss and metrics");
    const double* sum = t.data_ptr<double>();
    bad_ranks = static_cast<int64_t>(std::llround(sum[0]));
    loss_sum = sum[1];
    samples = sum[2];
    size_t i = 3;
    for (auto& [k, v] : metric_sums) v = sum[i++];
    if (finite && bad_ranks > 0) loss = std::nan("");  // another rank's loss was not finite: skip/stop together
    else if (finite) loss = loss_sum / samples;
  }

  bool skipped = false;
  if (bad_ranks > 0) {
    std::string what = std::isnan(loss) ? "NaN" : "infinite";
    if (dist) what = fmt::format("{} on {} of {} ranks{}", finite ? "not finite" : what, bad_ranks, dist->world_size(),
                                 finite ? "" : fmt::format(" (this one, rank {}, among them)", dist->rank()));
    std::string where = fmt::format("epoch {} step {} (global step {})", epoch + 1, state_.step_in_epoch + 1,
                                    state_.global_step + 1);
    if (options_.nan_policy == "stop") fail("loss is {} at {}", what, where);
    ++state_.skipped_steps;
    ++acc.skipped;
    skipped = true;
    log::warn("loss is {} at {}: step skipped ({} skipped so far, at most {})", what, where, state_.skipped_steps,
              options_.max_skipped_steps);
    check(state_.skipped_steps <= options_.max_skipped_steps,
          "too many non-finite losses: {} steps skipped (max_skipped_steps {}), the last at {}", state_.skipped_steps,
          options_.max_skipped_steps, where);
  } else {
    auto params = optimizer_parameters(opt);
    bool do_step = true;
    if (amp_ == AmpMode::fp16) {
      (out.loss * scaler_.scale()).backward();
    } else {
      out.loss.backward();
    }
    // Averaged before unscaling and clipping, so every rank sees (and clips) the same gradient and the fp16 overflow
    // decision below agrees everywhere.
    sync_bn.reset();
    if (dist) dist->average_gradients(params);
    if (amp_ == AmpMode::fp16) {
      do_step = scaler_.unscale(params);  // an fp16 overflow only skips this update and lowers the scale
      scaler_.update(!do_step);
    }
    if (do_step) {
      if (options_.clip.enabled()) clip_gradients(params, options_.clip);
      opt.step();
      if (after_optimizer_step) after_optimizer_step(ctx);
    }
    acc.loss_sum += loss_sum;
    acc.samples += static_cast<int64_t>(std::llround(samples));
    for (const auto& [k, v] : metric_sums) acc.metric_sums[k] += v;
  }
  opt.zero_grad();  // also for skipped steps: no stale gradient may leak into the next update
  schedule_.advance();
  ++state_.global_step;
  ++state_.step_in_epoch;
  ++acc.steps;
  acc.last_lr = lr;
  acc.train_s += seconds_since(step_start);

  if (options_.log_every_steps > 0 && state_.global_step % options_.log_every_steps == 0) {
    double rate = acc.train_s > 0 ? static_cast<double>(acc.samples) / acc.train_s : 0.0;
    double per_step = acc.steps > 0 ? acc.train_s / static_cast<double>(acc.steps) : 0.0;
    log::info("{} epoch {}/{} step {}/{} loss {} lr {:.3g} {:.1f} samples/s eta {}{}", options_.label, epoch + 1,
              options_.epochs, state_.step_in_epoch, steps, skipped ? std::string("skipped") : fmt::format("{:.4f}", loss),
              lr, rate, Progress::format_duration(per_step * static_cast<double>(steps - state_.step_in_epoch)),
              state_.skipped_steps > 0 ? fmt::format(" ({} skipped)", state_.skipped_steps) : "");
  }
}

nlohmann::ordered_json Trainer::finish_epoch(int64_t epoch, const EpochAccumulators& acc, bool& stop) {
  const auto& o = options_;
  nlohmann::ordered_json row;
  row["epoch"] = epoch + 1;
  row["step"] = state_.global_step;
  row["lr"] = acc.last_lr;
  double denom = acc.samples > 0 ? static_cast<double>(acc.samples) : std::nan("");
  row["train_loss"] = acc.loss_sum / denom;
  for (const auto& [k, v] : acc.metric_sums) row["train_" + k] = v / denom;

  // Data parallel: rank 0 validates alone (every rank holds the same weights and buffers) while the others wait for
  // its early-stopping decision.
  bool validate = evaluate_ && is_main() && ((epoch + 1) % o.validate_every == 0 || epoch + 1 == o.epochs);
  double val_s = 0.0;
  if (validate) {
    auto t0 = Clock::now();
    model_->eval();
    std::map<std::string, double> val;
    {
      torch::NoGradGuard no_grad;
      AutocastScope autocast(amp_);
      StepContext ctx{epoch, state_.step_in_epoch, state_.global_step, acc.last_lr, device_, &rng_};
      val = evaluate_(ctx);
    }
    model_->train();
    apply_freeze_mode(*model_);
    for (const auto& [k, v] : val) row[val_name(k)] = v;
    val_s = seconds_since(t0);
  }
  row["time_s"] = acc.train_s + val_s;
  row["samples_per_s"] = acc.train_s > 0 ? static_cast<double>(acc.samples) / acc.train_s : 0.0;
  row["data_wait_frac"] = acc.train_s > 0 ? acc.wait_s / acc.train_s : 0.0;
  row["skipped_steps"] = acc.skipped;
  if (o.distributed) row["world_size"] = o.distributed->world_size();

  // Best checkpoint and early stopping look at the monitored column whenever the row has it.
  if (!o.monitor.empty()) {
    bool is_val = o.monitor.rfind("val_", 0) == 0;
    if (row.contains(o.monitor)) {
      double v = row[o.monitor].is_number() ? row[o.monitor].get<double>() : std::nan("");
      bool improved = std::isfinite(v) &&
                      (std::isnan(state_.best_metric) ||
                       (o.monitor_mode == "min" ? v < state_.best_metric - o.early_stopping_min_delta
                                                : v > state_.best_metric + o.early_stopping_min_delta));
      if (improved) {
        state_.best_metric = v;
        state_.best_epoch = epoch + 1;
        state_.evals_without_improvement = 0;
      } else {
        ++state_.evals_without_improvement;
      }
      if (o.early_stopping_patience > 0 && state_.evals_without_improvement >= o.early_stopping_patience) {
        log::info("early stopping after epoch {}: {} did not improve for {} validations (best {} at epoch {})",
                  epoch + 1, o.monitor, state_.evals_without_improvement, state_.best_metric, state_.best_epoch);
        stop = true;
      }
      if (improved && writes_files_ && o.save_checkpoints) {
        // Saved as "epoch done", like last.pt, so resuming from best.pt also works.
        TrainingState keep = state_;
        state_.epoch = epoch + 1;
        state_.step_in_epoch = 0;
        state_.data_state.clear();
        state_.epoch_accumulators.clear();
        save_checkpoint_to(best_checkpoint_path());
        state_ = keep;
      }
    } else if (validate || (!is_val && is_main())) {
      std::string have;
      for (const auto& item : row.items()) have += (have.empty() ? "" : ", ") + item.key();
      fail("monitored metric '{}' is not among the epoch's metrics ({})", o.monitor, have);
    }
  }
  stop = decided_by_main(stop);
  return row;
}

FitResult Trainer::run_loop() {
  const auto& o = options_;
  FitResult result;
  model_->train();
  bool stop = false;
  for (int64_t epoch = state_.epoch; epoch < o.epochs && !stop; ++epoch) {
    bool mid_epoch = state_.step_in_epoch > 0;
    if (!mid_epoch) {
      state_.step_in_epoch = 0;
      if (frozen_ && !frozen_at(epoch)) {
        set_frozen(false);
        rebuild_optimizer();  // the reference re-compiles: fresh Adam state for the whole model
        log::info("epoch {}: unfroze {} parameter prefix(es), optimiser rebuilt", epoch + 1, o.frozen_prefixes.size());
      }
      uint64_t order_seed = Rng::derive(o.seed, "data_order", static_cast<uint64_t>(epoch)).next_u64();
      source_.start_epoch(epoch, order_seed);
    }
    model_->train();
    apply_freeze_mode(*model_);
    if (on_epoch_start) on_epoch_start(epoch, *this);

    EpochAccumulators acc = mid_epoch && partial_ ? *partial_ : EpochAccumulators{};
    partial_.reset();
    Progress progress(fmt::format("{} epoch {}/{}", o.label, epoch + 1, o.epochs),
                      steps_per_epoch_ - state_.step_in_epoch, "step");
    while (state_.step_in_epoch < steps_per_epoch_) {
      train_one_step(epoch, steps_per_epoch_, acc);
      double rate = acc.train_s > 0 ? static_cast<double>(acc.samples) / acc.train_s : 0.0;
      progress.advance(1, fmt::format("loss {:.4f} | {:.1f} samples/s | lr {:.3g}",
                                      acc.samples > 0 ? acc.loss_sum / static_cast<double>(acc.samples) : 0.0, rate,
                                      acc.last_lr));
      bool last_step = state_.step_in_epoch == steps_per_epoch_;
      if (o.checkpoint_every_steps > 0 && state_.global_step % o.checkpoint_every_steps == 0 && !last_step) {
        state_.epoch = epoch;
        state_.data_state = source_.state();
        state_.epoch_accumulators = acc.to_json().dump();
        write_last_checkpoint();
      }
    }
    progress.finish();
    // Each rank updated its buffers in its last forward pass: rank 0's become everyone's, so validation, checkpoints
    // and the weights every rank ends with agree.
    if (o.distributed) broadcast_module_state(*o.distributed, *model_, /*parameters=*/false, /*buffers=*/true);

    nlohmann::ordered_json row = finish_epoch(epoch, acc, stop);
    metrics_.append(row);
    log::info("{} epoch {}/{}: {}", o.label, epoch + 1, o.epochs, row.dump());
    state_.epoch = epoch + 1;
    state_.step_in_epoch = 0;
    state_.data_state.clear();
    state_.epoch_accumulators.clear();
    write_last_checkpoint();
    result.last_row = row;
    result.early_stopped = stop;
  }
  // No rank leaves while another may still expect it in a collective (rank 0 writes its files after this).
  if (o.distributed) o.distributed->barrier("end of training");
  result.epochs_completed = state_.epoch;
  result.global_step = state_.global_step;
  result.best_metric = state_.best_metric;
  result.best_epoch = state_.best_epoch;
  result.skipped_steps = state_.skipped_steps;
  return result;
}

}  // namespace medssl::train
