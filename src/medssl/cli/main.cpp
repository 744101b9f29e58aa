// medssl: one binary, one verb per workflow step (llama.cpp-style). Verbs register themselves (command.h).
#include <algorithm>
#include <cstdio>

#include "medssl/cli/command.h"
#include "medssl/core/error.h"
#include "medssl/core/log.h"
#include "medssl/core/version.h"
#include "medssl/core/torch_pch.h"
#include "medssl/tensor/caching_cpu_allocator.h"
#include "medssl/tensor/threads.h"

namespace medssl::cli {

GlobalOptions& global_options() {
  static GlobalOptions options;
  return options;
}

std::vector<CommandEntry>& command_registry() {
  static std::vector<CommandEntry> registry;
  return registry;
}

void apply_global_options() {
  auto& g = global_options();
  if (g.quiet) log::set_level(log::Level::warn);
  if (g.verbose) log::set_level(log::Level::debug);
  set_torch_threads(g.threads);  // 0 = all cores; Debian's LibTorch would otherwise use 1
  install_caching_cpu_allocator();  // reuse large tensor blocks across steps (tensor/caching_cpu_allocator.h)
  log::debug("LibTorch intra-op threads: {}", torch_threads());
}

std::vector<std::pair<std::string, std::string>> split_overrides(const std::vector<std::string>& sets) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& s : sets) {
    auto eq = s.find('=');
    check(eq != std::string::npos && eq > 0, "--set expects key=value, got '{}'", s);
    out.emplace_back(s.substr(0, eq), s.substr(eq + 1));
  }
  return out;
}

}  // namespace medssl::cli

namespace {
// The order verbs appear in `medssl --help`: the order a user needs them.
const std::vector<std::string> kCommandOrder = {"demo",  "synth",  "info",     "prepare", "pretrain", "finetune",
                                                "study", "probe", "predict", "evaluate", "export",  "weights",  "permutations",
                                                "bench"};
}  // namespace

int main(int argc, char** argv) {
  using namespace medssl;
  CLI::App app{fmt::format("medssl {} ({}): self-supervised pretraining and data-efficient finetuning for 3D/2D "
                           "medical images", MEDSSL_VERSION, MEDSSL_GIT_COMMIT),
               "medssl"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string(MEDSSL_VERSION) + " (" + MEDSSL_GIT_COMMIT + ")");
  auto& g = cli::global_options();
  app.add_option("--threads", g.threads, "intra-op CPU threads (default: all cores)")->check(CLI::NonNegativeNumber);
  app.add_flag("-q,--quiet", g.quiet, "only warnings and errors");
  app.add_flag("-v,--verbose", g.verbose, "debug output");
  app.fallthrough();

  auto registry = cli::command_registry();
  std::stable_sort(registry.begin(), registry.end(), [](const auto& a, const auto& b) {
    auto rank = [](const std::string& n) {
      auto it = std::find(kCommandOrder.begin(), kCommandOrder.end(), n);
      return it - kCommandOrder.begin();
    };
    return rank(a.name) < rank(b.name);
  });
  for (auto& entry : registry) entry.setup(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const Error& e) {
    log::error("{}", e.what());
    return 1;
  } catch (const c10::Error& e) {
    log::error("{}", e.what_without_backtrace());
    return 1;
  } catch (const std::exception& e) {
    log::error("{}", e.what());
    return 1;
  }
  return 0;
}
