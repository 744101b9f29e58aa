#pragma once
// Crash-safe file output. Every file medssl writes (checkpoints, caches, results, NIfTI, plots) goes through here:
// the bytes are written to "<path>.tmp-<pid>-<n>", flushed and fsync'ed, then renamed over <path>. A reader therefore
// sees either the old complete file or the new complete file, never a truncated one, even after SIGKILL or disk full.
#include <functional>
#include <string>
#include <string_view>

namespace medssl {

/// Writes `bytes` to `path` atomically. Throws medssl::Error naming the path on any failure (unwritable directory,
/// disk full); the previous content of `path`, if any, is left untouched.
void write_file_atomic(const std::string& path, std::string_view bytes);

/// Atomically produces `path` with a writer that fills a temporary file (e.g. a library that wants a file name).
/// `writer(tmp_path)` must create tmp_path; it is fsync'ed and renamed afterwards, or removed if writer throws.
void write_via_temp(const std::string& path, const std::function<void(const std::string& tmp_path)>& writer);

/// Removes the temporary files that killed medssl processes left in `dir` and its subfolders: names
/// "<file>.tmp-<pid>-<n>" whose process no longer runs. Finished files and the temporaries of running processes are
/// never touched. Returns how many were removed; a missing `dir` is no error. Called when a run, cache or study
/// folder is reopened, so that kills do not accumulate litter.
int remove_stale_temp_files(const std::string& dir);

/// Reads a whole file; throws medssl::Error naming the path if it cannot be opened or read.
std::string read_file(const std::string& path);

/// Creates a directory and its parents; throws medssl::Error naming the path if that fails.
void make_dirs(const std::string& path);

}  // namespace medssl
