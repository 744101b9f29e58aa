#include "medssl/train/checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <filesystem>
#include <mutex>
#include <sstream>
#include <vector>

#include "medssl/core/atomic_file.h"
#include "medssl/core/error.h"
#include "medssl/core/log.h"

namespace medssl::train {

namespace {

constexpr const char* kFormat = "medssl-checkpoint-v1";
constexpr const char* kCudaRngCount = "torch_cuda_rng_count";
std::string cuda_rng_key(int64_t device) { return "torch_cuda_rng_" + std::to_string(device); }

std::string first_line(const std::string& s) {
  auto pos = s.find('\n');
  return pos == std::string::npos ? s : s.substr(0, pos);
}

std::string describe(const std::exception& e) {
  if (const auto* c10e = dynamic_cast<const c10::Error*>(&e)) return first_line(c10e->what_without_backtrace());
  return first_line(e.what());
}

/// Parameters then buffers, with their qualified names (undefined buffers are skipped).
std::vector<std::pair<std::string, torch::Tensor>> model_tensors(const torch::nn::Module& model) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& p : model.named_parameters(true)) out.emplace_back(p.key(), p.value());
  for (const auto& b : model.named_buffers(true))
    if (b.value().defined()) out.emplace_back(b.key(), b.value());
  return out;
}

std::string join_lines(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) {
    if (!s.empty()) s += '\n';
    s += n;
  }
  return s;
}

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> out;
  if (s.empty()) return out;
  std::istringstream in(s);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::string shape_string(const torch::Tensor& t) {
  std::string s = "[";
  for (int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.size(i));
  return s + "]";
}

/// Opens a checkpoint archive; throws medssl::Error naming the file on any problem.
torch::serialize::InputArchive open_archive(const std::string& path) {
  check(std::filesystem::exists(path), "checkpoint {} does not exist", path);
  std::string bytes = read_file(path);
  check(!bytes.empty(), "checkpoint {} is empty (truncated or corrupt)", path);
  torch::serialize::InputArchive archive;
  try {
    std::istringstream in(bytes);
    archive.load_from(in);
  } catch (const std::exception& e) {
    fail("checkpoint {} is truncated or corrupt (cannot read the archive: {})", path, describe(e));
  }
  c10::IValue format;
  bool has_format = false;
  try {
    has_format = archive.try_read("format", format);
  } catch (const std::exception&) {
    has_format = false;
  }
  check(has_format && format.isString() && format.toStringRef() == kFormat,
        "{} is not a medssl checkpoint (no '{}' format tag)", path, kFormat);
  return archive;
}

c10::IValue read_value(torch::serialize::InputArchive& archive, const std::string& key, const std::string& path) {
  c10::IValue v;
  check(archive.try_read(key, v), "checkpoint {} lacks the entry '{}' (corrupt or written by another tool)", path, key);
  return v;
}

int64_t read_int(torch::serialize::InputArchive& a, const std::string& key, const std::string& path) {
  auto v = read_value(a, key, path);
  check(v.isInt(), "checkpoint {}: entry '{}' is not an integer", path, key);
  return v.toInt();
}

double read_double(torch::serialize::InputArchive& a, const std::string& key, const std::string& path) {
  auto v = read_value(a, key, path);
  check(v.isDouble(), "checkpoint {}: entry '{}' is not a number", path, key);
  return v.toDouble();
}

std::string read_string(torch::serialize::InputArchive& a, const std::string& key, const std::string& path) {
  auto v = read_value(a, key, path);
  check(v.isString(), "checkpoint {}: entry '{}' is not a string", path, key);
  return v.toStringRef();
}

std::map<std::string, torch::Tensor> read_model_tensors(torch::serialize::InputArchive& archive,
                                                        const std::string& path) {
  auto names = split_lines(read_string(archive, "model_names", path));
  torch::serialize::InputArchive model_archive;
  check(archive.try_read("model", model_archive), "checkpoint {} lacks the model tensors", path);
  std::map<std::string, torch::Tensor> out;
  for (size_t i = 0; i < names.size(); ++i) {
    torch::Tensor t;
    bool ok = false;
    try {
      ok = model_archive.try_read("t" + std::to_string(i), t, /*is_buffer=*/true);
    } catch (const std::exception& e) {
      fail("checkpoint {}: cannot read tensor '{}': {}", path, names[i], describe(e));
    }
    check(ok, "checkpoint {} lacks the tensor of '{}' (corrupt)", path, names[i]);
    out.emplace(names[i], t);
  }
  return out;
}

Checkpoint read_state(torch::serialize::InputArchive& archive, const std::string& path) {
  Checkpoint ck;
  auto& s = ck.state;
  s.epoch = read_int(archive, "epoch", path);
  s.step_in_epoch = read_int(archive, "step_in_epoch", path);
  s.global_step = read_int(archive, "global_step", path);
  s.schedule_step = read_int(archive, "schedule_step", path);
  s.best_metric = read_double(archive, "best_metric", path);
  s.best_epoch = read_int(archive, "best_epoch", path);
  s.evals_without_improvement = read_int(archive, "evals_without_improvement", path);
  s.skipped_steps = read_int(archive, "skipped_steps", path);
  s.rng_state = read_string(archive, "rng_state", path);
  s.data_state = read_string(archive, "data_state", path);
  s.epoch_accumulators = read_string(archive, "epoch_accumulators", path);
  s.config_json = read_string(archive, "config_json", path);
  s.manifest_json = read_string(archive, "manifest_json", path);
  check(archive.try_read("torch_cpu_rng", ck.torch_cpu_rng_state, /*is_buffer=*/true),
        "checkpoint {} lacks the torch generator state", path);
  // Optional: only checkpoints written where CUDA was available have it (and none written before it was added).
  c10::IValue cuda_count;
  if (archive.try_read(kCudaRngCount, cuda_count)) {
    check(cuda_count.isInt() && cuda_count.toInt() >= 0, "checkpoint {}: entry '{}' is not a count", path,
          kCudaRngCount);
    for (int64_t i = 0; i < cuda_count.toInt(); ++i) {
      torch::Tensor state;
      check(archive.try_read(cuda_rng_key(i), state, /*is_buffer=*/true),
            "checkpoint {} lacks the CUDA generator state of device {} (corrupt)", path, i);
      ck.torch_cuda_rng_states.push_back(state);
    }
  }
  auto has_opt = read_value(archive, "has_optimizer", path);
  ck.has_optimizer = has_opt.isBool() && has_opt.toBool();

  return ck;
}

void load_optimizer_from(torch::serialize::InputArchive& archive, const Checkpoint& ck, const std::string& path,
                         torch::optim::Optimizer& optimizer) {
  check(ck.has_optimizer, "checkpoint {} holds no optimizer state (weights-only checkpoint)", path);
  torch::serialize::InputArchive optimizer_archive;
  check(archive.try_read("optimizer", optimizer_archive), "checkpoint {} lacks the optimizer state", path);
  try {
    optimizer.load(optimizer_archive);
  } catch (const std::exception& e) {
    fail("checkpoint {}: the optimizer state does not fit this optimizer (different type or parameter groups?): {}",
         path, describe(e));
  }
}

}  // namespace

Checkpoint read_checkpoint_state(const std::string& path) {
  auto archive = open_archive(path);
  return read_state(archive, path);
}

void load_optimizer_state(const std::string& path, torch::optim::Optimizer& optimizer) {
  auto archive = open_archive(path);
  load_optimizer_from(archive, read_state(archive, path), path, optimizer);
}

torch::Tensor capture_torch_rng() {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get_state().clone();
}

void restore_torch_rng(const torch::Tensor& state) {
  check(state.defined(), "cannot restore the torch generator from an undefined state");
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(state);
}

std::vector<torch::Tensor> capture_torch_cuda_rng() {
  std::vector<torch::Tensor> states;
  // Asked at run time, so the same code serves CPU-only LibTorch builds (where the CUDA generators do not exist).
  if (!torch::cuda::is_available()) return states;
  const auto devices = static_cast<int64_t>(torch::cuda::device_count());
  for (int64_t i = 0; i < devices; ++i) {
    auto gen = at::globalContext().defaultGenerator(c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(i)));
    std::lock_guard<std::mutex> lock(gen.mutex());
    states.push_back(gen.get_state().clone());
  }
  return states;
}

void restore_torch_cuda_rng(const std::vector<torch::Tensor>& states) {
  if (states.empty()) return;
  const auto devices = torch::cuda::is_available() ? static_cast<int64_t>(torch::cuda::device_count()) : 0;
  const auto saved = static_cast<int64_t>(states.size());
  if (devices < saved)
    log::warn("the checkpoint holds the CUDA generator states of {} devices but {} CUDA devices are available; the "
              "random streams of the others are not restored, so GPU randomness will not replay the original run",
              saved, devices);
  for (int64_t i = 0; i < std::min(devices, saved); ++i) {
    check(states[static_cast<size_t>(i)].defined(), "cannot restore the CUDA generator of device {} from an "
          "undefined state", i);
    auto gen = at::globalContext().defaultGenerator(c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(i)));
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(states[static_cast<size_t>(i)]);
  }
}

std::string rng_state_string(Rng& rng) {
  std::ostringstream out;
  out << rng.engine();
  return out.str();
}

void restore_rng_state(Rng& rng, const std::string& state) {
  std::istringstream in(state);
  in >> rng.engine();
  check(!in.fail(), "cannot restore the medssl random generator: malformed state ({} characters)", state.size());
}

void save_checkpoint(const std::string& path, const torch::nn::Module& model, const torch::optim::Optimizer* optimizer,
                     const TrainingState& state, torch::Tensor torch_cpu_rng_state) {
  torch::serialize::OutputArchive archive;
  archive.write("format", c10::IValue(std::string(kFormat)));

  auto tensors = model_tensors(model);
  std::vector<std::string> names;
  torch::serialize::OutputArchive model_archive;
  for (size_t i = 0; i < tensors.size(); ++i) {
    names.push_back(tensors[i].first);
    model_archive.write("t" + std::to_string(i), tensors[i].second.detach().to(torch::kCPU), /*is_buffer=*/true);
  }
  archive.write("model_names", c10::IValue(join_lines(names)));
  archive.write("model", model_archive);

  archive.write("has_optimizer", c10::IValue(optimizer != nullptr));
  if (optimizer) {
    torch::serialize::OutputArchive optimizer_archive;
    optimizer->save(optimizer_archive);
    archive.write("optimizer", optimizer_archive);
  }
  if (!torch_cpu_rng_state.defined()) torch_cpu_rng_state = capture_torch_rng();
  archive.write("torch_cpu_rng", torch_cpu_rng_state, /*is_buffer=*/true);
  const auto cuda_states = capture_torch_cuda_rng();
  if (!cuda_states.empty()) {  // absent on CPU-only machines: the file stays exactly what older versions wrote
    archive.write(kCudaRngCount, c10::IValue(static_cast<int64_t>(cuda_states.size())));
    for (size_t i = 0; i < cuda_states.size(); ++i)
      archive.write(cuda_rng_key(static_cast<int64_t>(i)), cuda_states[i], /*is_buffer=*/true);
  }

  archive.write("epoch", c10::IValue(state.epoch));
  archive.write("step_in_epoch", c10::IValue(state.step_in_epoch));
  archive.write("global_step", c10::IValue(state.global_step));
  archive.write("schedule_step", c10::IValue(state.schedule_step));
  archive.write("best_metric", c10::IValue(state.best_metric));
  archive.write("best_epoch", c10::IValue(state.best_epoch));
  archive.write("evals_without_improvement", c10::IValue(state.evals_without_improvement));
  archive.write("skipped_steps", c10::IValue(state.skipped_steps));
  archive.write("rng_state", c10::IValue(state.rng_state));
  archive.write("data_state", c10::IValue(state.data_state));
  archive.write("epoch_accumulators", c10::IValue(state.epoch_accumulators));
  archive.write("config_json", c10::IValue(state.config_json));
  archive.write("manifest_json", c10::IValue(state.manifest_json));

  std::ostringstream bytes;
  try {
    archive.save_to(bytes);
  } catch (const std::exception& e) {
    fail("cannot serialise checkpoint {}: {}", path, describe(e));
  }
  write_file_atomic(path, bytes.str());
}

std::map<std::string, torch::Tensor> read_checkpoint_tensors(const std::string& path) {
  auto archive = open_archive(path);
  return read_model_tensors(archive, path);
}

Checkpoint load_checkpoint(const std::string& path, torch::nn::Module& model, torch::optim::Optimizer* optimizer) {
  auto archive = open_archive(path);
  auto stored = read_model_tensors(archive, path);

  // Compare the whole key set first so the error lists every problem at once.
  auto tensors = model_tensors(model);
  std::vector<std::string> missing, mis_shaped, unexpected;
  std::map<std::string, bool> seen;
  for (const auto& [name, t] : tensors) {
    seen[name] = true;
    auto it = stored.find(name);
    if (it == stored.end()) {
      missing.push_back(name);
    } else if (it->second.sizes() != t.sizes()) {
      mis_shaped.push_back(name + " (checkpoint " + shape_string(it->second) + ", model " + shape_string(t) + ")");
    }
  }
  for (const auto& [name, t] : stored)
    if (!seen.count(name)) unexpected.push_back(name);
  if (!missing.empty() || !unexpected.empty() || !mis_shaped.empty()) {
    auto list = [](const std::vector<std::string>& v) {
      std::string s;
      for (size_t i = 0; i < v.size() && i < 10; ++i) s += (i ? ", " : "") + v[i];
      if (v.size() > 10) s += fmt::format(", ... ({} in all)", v.size());
      return s;
    };
    std::string msg = fmt::format("checkpoint {} does not match the model:", path);
    if (!missing.empty()) msg += " missing keys: " + list(missing) + ";";
    if (!unexpected.empty()) msg += " unexpected keys: " + list(unexpected) + ";";
    if (!mis_shaped.empty()) msg += " mis-shaped keys: " + list(mis_shaped) + ";";
    msg.pop_back();
    fail("{}", msg);
  }

  Checkpoint ck = read_state(archive, path);

  // Only now, with everything read and checked, modify the caller's objects.
  if (optimizer) load_optimizer_from(archive, ck, path, *optimizer);
  {
    torch::NoGradGuard no_grad;
    for (auto& [name, t] : tensors) t.copy_(stored.at(name));
  }
  return ck;
}

}  // namespace medssl::train
