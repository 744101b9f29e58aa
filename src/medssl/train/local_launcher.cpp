#include "medssl/train/local_launcher.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <thread>

#include "medssl/core/error.h"
#include "medssl/core/log.h"
#include "medssl/train/distributed_env.h"

extern char** environ;

namespace medssl::train {

namespace {

struct Rank {
  int rank = 0;
  pid_t pid = -1;
  int out_fd = -1;  // read end of the rank's stdout+stderr pipe (ranks > 0), -1 when closed
  std::string pending;  // an output line not finished yet
  bool running = false;
  int status = 0;
};

// Every string the child needs is built before fork(): after fork only async-signal-safe calls are allowed (the
// parent may have threads), so the child just redirects, arms the parent-death signal and calls execve.
struct ExecImage {
  std::vector<std::string> strings;
  std::vector<char*> argv, envp;
};

ExecImage exec_image(const LocalLaunch& launch, const std::map<std::string, std::string>& rank_env) {
  ExecImage image;
  image.strings.push_back(launch.executable);
  for (const auto& a : launch.args) image.strings.push_back(a);
  const size_t argc = image.strings.size();
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string kv(*e);
    const auto eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& [k, v] : launch.env) env[k] = v;
  for (const auto& [k, v] : rank_env) env[k] = v;
  for (const auto& [k, v] : env) image.strings.push_back(k + "=" + v);
  for (size_t i = 0; i < image.strings.size(); ++i) {
    (i < argc ? image.argv : image.envp).push_back(image.strings[i].data());
  }
  image.argv.push_back(nullptr);
  image.envp.push_back(nullptr);
  return image;
}

void forward_lines(Rank& r, const char* data, size_t n, bool flush) {
  r.pending.append(data, n);
  size_t start = 0;
  for (size_t nl; (nl = r.pending.find('\n', start)) != std::string::npos; start = nl + 1)
    std::fprintf(stderr, "[rank %d] %s\n", r.rank, r.pending.substr(start, nl - start).c_str());
  r.pending.erase(0, start);
  if (flush && !r.pending.empty()) {
    std::fprintf(stderr, "[rank %d] %s\n", r.rank, r.pending.c_str());
    r.pending.clear();
  }
  std::fflush(stderr);
}

// Reads whatever the ranks printed, waiting at most `timeout_ms` for something to arrive.
void pump_output(std::vector<Rank>& ranks, int timeout_ms) {
  std::vector<pollfd> fds;
  std::vector<Rank*> owners;
  for (auto& r : ranks)
    if (r.out_fd >= 0) {
      fds.push_back({r.out_fd, POLLIN, 0});
      owners.push_back(&r);
    }
  if (fds.empty()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(timeout_ms));
    return;
  }
  if (::poll(fds.data(), fds.size(), timeout_ms) <= 0) return;
  char buffer[4096];
  for (size_t i = 0; i < fds.size(); ++i) {
    if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
    const ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
    if (n > 0) {
      forward_lines(*owners[i], buffer, static_cast<size_t>(n), false);
    } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
      forward_lines(*owners[i], "", 0, true);
      ::close(owners[i]->out_fd);
      owners[i]->out_fd = -1;
    }
  }
}

bool failed(const Rank& r) { return !r.running && !(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0); }

// Reaps every rank that has exited; returns the one whose failure is reported, or nullptr. When several failed
// between two looks, a rank killed by a signal is named first: the others most likely failed because it vanished
// from their collectives.
Rank* reap(std::vector<Rank>& ranks) {
  Rank* first = nullptr;
  for (auto& r : ranks) {
    if (!r.running) continue;
    int status = 0;
    const pid_t p = ::waitpid(r.pid, &status, WNOHANG);
    if (p != r.pid) continue;
    r.running = false;
    r.status = status;
    if (failed(r) && (first == nullptr || (WIFSIGNALED(status) && !WIFSIGNALED(first->status)))) first = &r;
  }
  return first;
}

bool any_output_open(const std::vector<Rank>& ranks) {
  for (const auto& r : ranks)
    if (r.out_fd >= 0) return true;
  return false;
}

// After the ranks have exited: what is still in their pipes (bounded, in case a grandchild holds a pipe open).
void drain_output(std::vector<Rank>& ranks) {
  for (int i = 0; i < 20 && any_output_open(ranks); ++i) pump_output(ranks, 50);
  for (auto& r : ranks)
    if (r.out_fd >= 0) {
      forward_lines(r, "", 0, true);
      ::close(r.out_fd);
      r.out_fd = -1;
    }
}

bool any_running(const std::vector<Rank>& ranks) {
  for (const auto& r : ranks)
    if (r.running) return true;
  return false;
}

void stop_all(std::vector<Rank>& ranks, double grace_s) {
  for (auto& r : ranks)
    if (r.running) ::kill(r.pid, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(grace_s);
  while (any_running(ranks) && std::chrono::steady_clock::now() < deadline) {
    pump_output(ranks, 50);
    reap(ranks);
  }
  for (auto& r : ranks)
    if (r.running) ::kill(r.pid, SIGKILL);
  for (auto& r : ranks)
    if (r.running) {
      ::waitpid(r.pid, &r.status, 0);
      r.running = false;
    }
  drain_output(ranks);
}

}  // namespace

std::string describe_exit_status(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    const char* name = ::strsignal(sig);
    return "was killed by signal " + std::to_string(sig) + (name != nullptr ? std::string(" (") + name + ")" : "");
  }
  return "ended with wait status " + std::to_string(status);
}

int free_local_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  check(fd >= 0, "--nproc: cannot open a socket to find a free port: {}", std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  const int err = errno;
  ::close(fd);
  check(ok, "--nproc: cannot bind a socket on 127.0.0.1 to find a free port: {}", std::strerror(err));
  return ntohs(addr.sin_port);
}

std::string own_executable() {
  std::vector<char> buf(4096);
  const ssize_t n = ::readlink("/proc/self/exe", buf.data(), buf.size() - 1);
  check(n > 0, "--nproc: cannot find this program's executable (/proc/self/exe): {}", std::strerror(errno));
  return std::string(buf.data(), static_cast<size_t>(n));
}

std::vector<std::string> own_arguments() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  check(in.good(), "--nproc: cannot read this program's command line (/proc/self/cmdline)");
  const std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> args;
  size_t start = 0;
  for (size_t i = 0; i < all.size(); ++i)
    if (all[i] == '\0') {
      args.push_back(all.substr(start, i - start));
      start = i + 1;
    }
  if (!args.empty()) args.erase(args.begin());  // argv[0]
  return args;
}

void launch_local(const LocalLaunch& launch) {
  check(launch.nproc >= 1, "--nproc must be at least 1, got {}", launch.nproc);
  check(!launch.executable.empty(), "launch_local: no executable");
  const int port = launch.master_port > 0 ? launch.master_port : free_local_port();
  log::info("launching {} processes on this machine (rendezvous 127.0.0.1:{})", launch.nproc, port);

  std::vector<Rank> ranks(static_cast<size_t>(launch.nproc));
  const pid_t launcher = ::getpid();
  for (int r = 0; r < launch.nproc; ++r) {
    const std::map<std::string, std::string> rank_env = {
        {"RANK", std::to_string(r)},           {"LOCAL_RANK", std::to_string(r)},
        {"WORLD_SIZE", std::to_string(launch.nproc)}, {"LOCAL_WORLD_SIZE", std::to_string(launch.nproc)},
        {"MASTER_ADDR", "127.0.0.1"},          {"MASTER_PORT", std::to_string(port)},
        {"MEDSSL_LAUNCHED_BY", "medssl"}};
    ExecImage image = exec_image(launch, rank_env);
    int pipe_fds[2] = {-1, -1};
    if (r > 0) check(::pipe2(pipe_fds, O_CLOEXEC) == 0, "--nproc: cannot create a pipe: {}", std::strerror(errno));
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0) {
      const int err = errno;
      if (r > 0) {
        ::close(pipe_fds[0]);
        ::close(pipe_fds[1]);
      }
      stop_all(ranks, launch.grace_s);
      fail("--nproc: cannot start rank {}: fork failed: {}", r, std::strerror(err));
    }
    if (pid == 0) {
      // Child: async-signal-safe calls only.
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != launcher) ::_exit(127);  // the launcher died before the signal was armed
      if (r > 0) {
        ::dup2(pipe_fds[1], STDOUT_FILENO);
        ::dup2(pipe_fds[1], STDERR_FILENO);
      }
      ::execve(image.argv[0], image.argv.data(), image.envp.data());
      static const char msg[] = "medssl --nproc: execve failed\n";
      ssize_t ignored = ::write(STDERR_FILENO, msg, sizeof msg - 1);
      (void)ignored;
      ::_exit(127);
    }
    auto& rk = ranks[static_cast<size_t>(r)];
    rk.rank = r;
    rk.pid = pid;
    rk.running = true;
    if (r > 0) {
      ::close(pipe_fds[1]);
      rk.out_fd = pipe_fds[0];
    }
    log::debug("rank {} started, pid {}", r, pid);
  }

  Rank* culprit = nullptr;
  while (any_running(ranks) && culprit == nullptr) {
    pump_output(ranks, 100);
    culprit = reap(ranks);
  }
  if (culprit != nullptr) {
    const int rank = culprit->rank;
    const pid_t pid = culprit->pid;
    const std::string how = describe_exit_status(culprit->status);
    // Ranks that had already failed on their own (before being stopped) are worth naming too.
    std::string also;
    for (const auto& r : ranks)
      if (r.rank != rank && failed(r)) also += fmt::format("; rank {} {}", r.rank, describe_exit_status(r.status));
    if (any_running(ranks)) log::warn("rank {} {}; stopping the other ranks", rank, how);
    stop_all(ranks, launch.grace_s);
    fail("rank {} of {} (pid {}) {}{}; the other ranks were stopped (its own error, if any, is printed above)", rank,
         launch.nproc, pid, how, also);
  }
  drain_output(ranks);
}

bool launch_ranks_if_asked(int nproc, int threads) {
  check(nproc >= 1, "--nproc must be at least 1, got {}", nproc);
  const DistributedEnv env = distributed_env();
  if (env.distributed()) {
    const char* by = std::getenv("MEDSSL_LAUNCHED_BY");
    if (nproc > 1 && nproc != env.world_size && (by == nullptr || std::string(by) != "medssl"))
      log::warn("--nproc {} ignored: this process is {} (started by {})", nproc, env.describe(), env.launcher);
    return false;
  }
  if (nproc <= 1) return false;
  LocalLaunch launch;
  launch.executable = own_executable();
  launch.args = own_arguments();
  launch.nproc = nproc;
  if (threads == 0) {
    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    const int per_rank = std::max(1, cores / nproc);
    launch.args.insert(launch.args.begin(), {"--threads", std::to_string(per_rank)});
  }
  launch_local(launch);
  return true;
}

}  // namespace medssl::train
