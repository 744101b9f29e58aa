#include "medssl/train/distributed.h"

#include <torch/version.h>

#include <map>
#include <utility>

// Gloo: Debian's libtorch-dev 1.13 ships the c10d headers and symbols, the gloo headers come from libgloo-dev (the
// same gloo libtorch links); PyTorch's own LibTorch 2.x ships both. ProcessGroupGloo.hpp is empty unless
// USE_C10D_GLOO is defined, which only LibTorch's own build defines, so it is defined here when the headers exist.
#if __has_include(<gloo/config.h>) && __has_include(<torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>)
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO 1
#endif
#define MEDSSL_HAVE_GLOO 1
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
// NCCL: only CUDA builds of LibTorch have its symbols; CMakeLists.txt defines USE_C10D_NCCL for this file when Torch
// was found with CUDA and nccl.h exists.
#ifdef USE_C10D_NCCL
#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "medssl/core/error.h"
#include "medssl/core/log.h"

namespace medssl::train {

namespace {

// LibTorch 2.0 split ProcessGroup into a dispatching front and per-backend "Backend"s; ProcessGroupGloo/NCCL derive
// from Backend since then, from ProcessGroup before. The collective signatures used here are the same in both.
#if TORCH_VERSION_MAJOR >= 2
using BackendBase = c10d::Backend;
#else
using BackendBase = c10d::ProcessGroup;
#endif

// c10::Error::what() carries a C++ backtrace; users need the message.
std::string message_of(const std::exception& e) {
  if (const auto* c10 = dynamic_cast<const c10::Error*>(&e)) return c10->what_without_backtrace();
  return e.what();
}

bool is_loopback(const std::string& addr) {
  return addr == "localhost" || addr.rfind("127.", 0) == 0 || addr == "::1";
}

// Gloo's c10d backend reduces numbers, not bool; bool buffers travel as bytes.
torch::ScalarType wire_dtype(torch::ScalarType t) { return t == torch::kBool ? torch::kByte : t; }

}  // namespace

struct ProcessGroup::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<BackendBase> backend;
  std::chrono::milliseconds timeout{0};
  // Where the backend wants tensors: the host for Gloo, the rank's GPU for NCCL. Tensors elsewhere (CUDA gradients
  // over Gloo, the trainer's small CPU tensors over NCCL) travel through a copy.
  torch::Device collective_device = torch::kCPU;

  torch::Tensor wire(const torch::Tensor& t) const {
    torch::Tensor w = t.device() == collective_device ? t : t.to(collective_device);
    if (w.scalar_type() != wire_dtype(w.scalar_type())) w = w.to(wire_dtype(w.scalar_type()));
    return w.is_contiguous() ? w : w.contiguous();
  }
  std::map<std::pair<std::string, torch::ScalarType>, torch::Tensor> buffers;  // flat buffers, reused

  torch::Tensor& buffer(const std::string& purpose, torch::ScalarType dtype, int64_t numel, torch::Device device) {
    auto& b = buffers[{purpose, dtype}];
    if (!b.defined() || b.numel() != numel || b.device() != device)
      b = torch::empty({numel}, torch::TensorOptions().dtype(dtype).device(device));
    return b;
  }

  void wait(const c10::intrusive_ptr<c10d::Work>& work) { work->wait(timeout); }
};

ProcessGroup::ProcessGroup(DistributedEnv env, std::string backend, std::unique_ptr<Impl> impl)
    : env_(std::move(env)), backend_(std::move(backend)), impl_(std::move(impl)) {}

ProcessGroup::~ProcessGroup() = default;

std::shared_ptr<ProcessGroup> ProcessGroup::join(const DistributedEnv& env, const std::string& device) {
  check(env.distributed(), "distributed: join() needs a world size above 1 (got {})", env.world_size);
  const bool cuda = device.rfind("cuda", 0) == 0;
  auto impl = std::make_unique<Impl>();
  impl->timeout = std::chrono::duration_cast<std::chrono::milliseconds>(env.timeout);
  std::string backend;
  try {
    c10d::TCPStoreOptions so;
    so.port = static_cast<std::uint16_t>(env.master_port);
    so.isServer = env.rank == 0;
    so.numWorkers = env.world_size;
    so.waitWorkers = true;
    so.timeout = impl->timeout;
    auto tcp = c10::make_intrusive<c10d::TCPStore>(env.master_addr, so);
    // A prefix keeps medssl's keys apart from anything else that might share the store.
    impl->store = c10::make_intrusive<c10d::PrefixStore>("medssl", tcp);
  } catch (const std::exception& e) {
    fail("distributed rank {}: the rendezvous at {}:{} failed ({}); check MASTER_ADDR / MASTER_PORT (rank 0 must be "
         "able to listen there and every rank to reach it) and that all {} ranks started: {}",
         env.rank, env.master_addr, env.master_port, env.rank == 0 ? "hosting it" : "connecting to it",
         env.world_size, message_of(e));
  }
  try {
#ifdef USE_C10D_NCCL
    if (cuda) {
      if (device == "cuda") c10::cuda::set_device(static_cast<c10::DeviceIndex>(env.local_rank));
      auto options = c10d::ProcessGroupNCCL::Options::create();
      options->timeout = impl->timeout;
      impl->backend = c10::make_intrusive<c10d::ProcessGroupNCCL>(impl->store, env.rank, env.world_size, options);
      impl->collective_device =
          device == "cuda" ? torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(env.local_rank)) : torch::Device(device);
      backend = "nccl";
    }
#endif
    if (!impl->backend) {
#ifdef MEDSSL_HAVE_GLOO
      auto options = c10d::ProcessGroupGloo::Options::create(impl->timeout);
      // The interface peers reach this rank on: GLOO_SOCKET_IFNAME as in PyTorch, loopback for a one-machine run,
      // else the address this host's name resolves to.
      const char* ifname = std::getenv("GLOO_SOCKET_IFNAME");
      if (ifname != nullptr && *ifname != '\0')
        options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
      else if (is_loopback(env.master_addr))
        options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
      else
        options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
      impl->backend = c10::make_intrusive<c10d::ProcessGroupGloo>(impl->store, env.rank, env.world_size, options);
      backend = "gloo";
      if (cuda) log::warn("distributed: medssl was built without NCCL; CUDA gradients are averaged with Gloo through host copies (slower)");
#else
      fail("distributed: this medssl was built without c10d's Gloo backend (the gloo headers were missing; on Debian "
           "install libgloo-dev and rebuild), so it cannot train with {} processes", env.world_size);
#endif
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    fail("distributed rank {}: creating the {} process group of {} ranks failed: {}", env.rank,
         cuda ? "NCCL/Gloo" : "Gloo", env.world_size, message_of(e));
  }
  log::debug("distributed: {} joined, backend {}", env.describe(), backend);
  return std::shared_ptr<ProcessGroup>(new ProcessGroup(env, backend, std::move(impl)));
}

std::string ProcessGroup::rank_device(const std::string& device) const {
  if (device == "cuda") return "cuda:" + std::to_string(env_.local_rank);
  return device;
}

void ProcessGroup::all_reduce_sum_(torch::Tensor& t, const std::string& what) {
  try {
    torch::Tensor wire = impl_->wire(t);
    std::vector<torch::Tensor> tensors{wire};
    impl_->wait(impl_->backend->allreduce(tensors));
    if (!wire.is_same(t)) t.copy_(wire);
  } catch (const std::exception& e) {
    fail("distributed rank {}/{}: all-reduce of {} failed (did another rank stop or stall? its error comes first; "
         "timeout {} s, MEDSSL_DIST_TIMEOUT_S): {}", rank(), world_size(), what, env_.timeout.count(), message_of(e));
  }
}

void ProcessGroup::broadcast_(torch::Tensor& t, int root, const std::string& what) {
  try {
    torch::Tensor wire = impl_->wire(t);
    std::vector<torch::Tensor> tensors{wire};
    c10d::BroadcastOptions options;
    options.rootRank = root;
    impl_->wait(impl_->backend->broadcast(tensors, options));
    if (!wire.is_same(t)) t.copy_(wire);
  } catch (const std::exception& e) {
    fail("distributed rank {}/{}: broadcast of {} from rank {} failed (did another rank stop or stall? its error "
         "comes first; timeout {} s, MEDSSL_DIST_TIMEOUT_S): {}", rank(), world_size(), what, root,
         env_.timeout.count(), message_of(e));
  }
}

void ProcessGroup::broadcast_tensors_(const std::vector<torch::Tensor>& tensors, int root, const std::string& what) {
  torch::NoGradGuard no_grad;
  std::map<torch::ScalarType, std::vector<size_t>> by_dtype;  // ordered, so every rank packs alike
  for (size_t i = 0; i < tensors.size(); ++i) by_dtype[tensors[i].scalar_type()].push_back(i);
  for (const auto& [dtype, index] : by_dtype) {
    int64_t total = 0;
    for (size_t i : index) total += tensors[i].numel();
    if (total == 0) continue;
    torch::Tensor& flat = impl_->buffer("broadcast " + what, wire_dtype(dtype), total, tensors[index[0]].device());
    int64_t offset = 0;
    for (size_t i : index) {
      const int64_t n = tensors[i].numel();
      if (rank() == root) flat.narrow(0, offset, n).copy_(tensors[i].reshape({-1}));
      offset += n;
    }
    broadcast_(flat, root, what);
    if (rank() == root) continue;
    offset = 0;
    for (size_t i : index) {
      const int64_t n = tensors[i].numel();
      torch::Tensor t = tensors[i];
      t.copy_(flat.narrow(0, offset, n).view(t.sizes()));
      offset += n;
    }
  }
}

void ProcessGroup::average_gradients(const std::vector<torch::Tensor>& parameters) {
  torch::NoGradGuard no_grad;
  if (parameters.empty()) return;
  const auto n = static_cast<int64_t>(parameters.size());
  std::map<torch::ScalarType, std::vector<size_t>> by_dtype;
  for (size_t i = 0; i < parameters.size(); ++i) by_dtype[parameters[i].scalar_type()].push_back(i);
  by_dtype[torch::kFloat];  // carries one "has a gradient here" flag per parameter after the float32 values
  const torch::Device device = parameters[0].device();

  std::map<torch::ScalarType, torch::Tensor*> flats;
  std::vector<float> present(static_cast<size_t>(n), 0.0f);
  for (const auto& [dtype, index] : by_dtype) {
    int64_t total = dtype == torch::kFloat ? n : 0;
    for (size_t i : index) total += parameters[i].numel();
    torch::Tensor& flat = impl_->buffer("gradients", dtype, total, device);
    int64_t offset = 0;
    for (size_t i : index) {
      const torch::Tensor& g = parameters[i].grad();
      const int64_t k = parameters[i].numel();
      if (g.defined()) {
        flat.narrow(0, offset, k).copy_(g.reshape({-1}));
        present[i] = 1.0f;
      } else {
        flat.narrow(0, offset, k).zero_();
      }
      offset += k;
    }
    if (dtype == torch::kFloat) flat.narrow(0, offset, n).copy_(torch::tensor(present));
    flats[dtype] = &flat;
  }
  for (auto& [dtype, flat] : flats) all_reduce_sum_(*flat, "the gradients");

  torch::Tensor& float_flat = *flats.at(torch::kFloat);
  const torch::Tensor counts = float_flat.narrow(0, float_flat.numel() - n, n).to(torch::kCPU);
  const float* count = counts.data_ptr<float>();
  const double scale = 1.0 / static_cast<double>(world_size());
  for (const auto& [dtype, index] : by_dtype) {
    torch::Tensor& flat = *flats.at(dtype);
    int64_t offset = 0;
    for (size_t i : index) {
      const int64_t k = parameters[i].numel();
      torch::Tensor mean = flat.narrow(0, offset, k).view(parameters[i].sizes()).mul_(scale);
      offset += k;
      if (count[i] == 0.0f) continue;  // no rank produced a gradient: leave it undefined, as one process would
      torch::Tensor p = parameters[i];
      if (p.grad().defined()) {
        p.mutable_grad().copy_(mean);
      } else {
        p.mutable_grad() = mean.clone();
      }
    }
  }
}

void ProcessGroup::barrier(const std::string& what) {
  // An all-reduce of one number works for every backend and device (NCCL's barrier has to guess a device).
  torch::Tensor one = torch::ones({1}, torch::TensorOptions().dtype(torch::kFloat).device(impl_->collective_device));
  all_reduce_sum_(one, "a barrier (" + what + ")");
}

std::shared_ptr<ProcessGroup> join_from_environment(const std::string& device) {
  const DistributedEnv env = distributed_env();
  if (!env.distributed()) return nullptr;
  return ProcessGroup::join(env, device);
}

std::shared_ptr<ProcessGroup> join_training_ranks(const std::string& device) {
  auto group = join_from_environment(device);
  if (group && !group->is_main() && log::level() < log::Level::warn) log::set_level(log::Level::warn);
  if (group && group->is_main()) log::info("distributed: {}, backend {}", group->env().describe(), group->backend());
  return group;
}

void broadcast_module_state(ProcessGroup& group, torch::nn::Module& module, bool parameters, bool buffers) {
  std::vector<torch::Tensor> tensors;
  if (parameters)
    for (auto& p : module.parameters()) tensors.push_back(p);
  if (buffers)
    for (auto& b : module.buffers()) tensors.push_back(b);
  group.broadcast_tensors_(tensors, 0, parameters ? "the model's parameters" : "the model's buffers");
}

}  // namespace medssl::train
