// `medssl permutations`: jigsaw permutation tables (Noroozi & Favaro's greedy max-average-Hamming selection, or the
// shipped reference tables), written in the text format jigsaw's `permutations_file` reads; see docs/pretext-tasks.md.
#include "medssl/cli/command.h"
#include "medssl/core/atomic_file.h"
#include "medssl/core/log.h"
#include "medssl/core/progress.h"
#include "medssl/pretext/permutations.h"

namespace medssl::cli {
namespace {

struct PermutationsArgs {
  int64_t patches = 0;
  int64_t count = 100;
  int64_t pool = 10000;
  uint64_t seed = 0;
  std::string from_table;
  std::string out;
};

void run_permutations(const PermutationsArgs& args, const CLI::App& cmd) {
  apply_global_options();
  Stopwatch timer;
  std::string text;
  pretext::PermutationTable table;
  if (!args.from_table.empty()) {
    for (const char* option : {"--patches", "--count", "--pool", "--seed"})
      check(cmd.count(option) == 0, "permutations: {} cannot be combined with --from-table (the shipped table is "
                                    "written as it is)", option);
    const int dims = args.from_table == "2d" ? 2 : 3;
    text = std::string(pretext::shipped_permutation_text(dims));
    table = pretext::shipped_permutation_table(dims);
  } else {
    check(cmd.count("--patches") > 0, "permutations: --patches is required (9 for 2D 3x3 puzzles, 27 for 3D 3x3x3), "
                                      "or use --from-table 2d|3d");
    pretext::MaxHammingOptions options;
    options.length = args.patches;
    options.count = args.count;
    options.pool = args.pool;
    options.seed = args.seed;
    table = pretext::generate_max_hamming(options);
    const bool full_pool = args.patches <= 9;
    text = pretext::format_permutation_table(
        table, fmt::format("medssl permutations: {} permutations of {} patches, greedy maximal average Hamming distance "
                           "(Noroozi & Favaro 2016, Alg. 1), {}, seed {}.\n"
                           "0-based; row r = jigsaw class r; output_patch[k] = input_patch[perm[r][k]], patches in "
                           "raster order (first axis slowest).",
                           table.count(), table.length,
                           full_pool ? "all " + std::to_string(args.patches) + "! candidates"
                                     : std::to_string(args.pool) + " random candidates",
                           args.seed));
  }
  write_file_atomic(args.out, text);
  if (table.count() >= 2) {
    const auto stats = pretext::hamming_stats(table);
    fmt::print("{} permutations of {}: pairwise Hamming distance mean {:.3f}, min {}, max {}\n", table.count(),
               table.length, stats.mean, stats.min, stats.max);
  }
  log::info("wrote {} in {}", args.out, Progress::format_duration(timer.seconds()));
}

MEDSSL_COMMAND("permutations", [](CLI::App& app) {
  static PermutationsArgs args;
  auto* cmd = app.add_subcommand("permutations",
                                 "Write a jigsaw permutation table (greedy max-average-Hamming set, or a shipped table)");
  cmd->add_option("--patches", args.patches, "patches per puzzle: 9 (2D, 3x3) or 27 (3D, 3x3x3); any 2..255")
      ->check(CLI::Range(int64_t{2}, int64_t{255}));
  cmd->add_option("--count", args.count, "permutations (jigsaw classes) to select")
      ->check(CLI::Range(int64_t{1}, int64_t{1000000}))
      ->capture_default_str();
  cmd->add_option("--pool", args.pool, "random candidates when patches > 9 (up to 9 all n! permutations are used)")
      ->check(CLI::Range(int64_t{1}, int64_t{100000000}))
      ->capture_default_str();
  cmd->add_option("--seed", args.seed, "random seed (same seed, same table)")->capture_default_str();
  cmd->add_option("--from-table", args.from_table, "write the shipped reference table instead: 2d (Noroozi's 100 x 9 "
                                                   "max-Hamming set) or 3d (the reference's 100 x 27 random set)")
      ->check(CLI::IsMember({"2d", "3d"}));
  cmd->add_option("--out", args.out, "output text file")->required();
  cmd->callback([cmd] { run_permutations(args, *cmd); });
});

}  // namespace
}  // namespace medssl::cli
