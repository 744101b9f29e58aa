#include "medssl/core/atomic_file.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "medssl/core/error.h"
#include "medssl/core/log.h"

namespace medssl {
namespace fs = std::filesystem;
namespace {

std::string temp_name_for(const std::string& path) {
  static std::atomic<unsigned> counter{0};
  return fmt::format("{}.tmp-{}-{}", path, static_cast<long>(::getpid()), counter++);
}

void fsync_path(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) fail("cannot reopen '{}' to flush it: {}", path, std::strerror(errno));
  int rc = ::fsync(fd);
  int saved = errno;
  ::close(fd);
  if (rc != 0) fail("cannot flush '{}' to disk: {}", path, std::strerror(saved));
}

void fsync_parent_dir(const std::string& path) {
  fs::path parent = fs::path(path).parent_path();
  if (parent.empty()) parent = ".";
  int fd = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);  // best effort: makes the rename itself durable
    ::close(fd);
  }
}

void commit(const std::string& tmp, const std::string& path) {
  fsync_path(tmp);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    int saved = errno;
    std::remove(tmp.c_str());
    fail("cannot move the finished file into place as '{}': {}", path, std::strerror(saved));
  }
  fsync_parent_dir(path);
}

}  // namespace

void write_file_atomic(const std::string& path, std::string_view bytes) {
  const std::string tmp = temp_name_for(path);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) fail("cannot write '{}': {}", path, std::strerror(errno));
  const char* p = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      int saved = errno;
      ::close(fd);
      std::remove(tmp.c_str());
      fail("cannot write '{}': {} (nothing was replaced)", path, std::strerror(saved));
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  // Both always run (a failed fsync must not leak the descriptor); either failing means the bytes may not be on disk.
  const int synced = ::fsync(fd);
  int saved = errno;
  const int closed = ::close(fd);
  if (closed != 0 && synced == 0) saved = errno;
  if (synced != 0 || closed != 0) {
    std::remove(tmp.c_str());
    fail("cannot finish writing '{}': {} (nothing was replaced)", path, std::strerror(saved));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    int saved = errno;
    std::remove(tmp.c_str());
    fail("cannot move the finished file into place as '{}': {}", path, std::strerror(saved));
  }
  fsync_parent_dir(path);
}

void write_via_temp(const std::string& path, const std::function<void(const std::string&)>& writer) {
  const std::string tmp = temp_name_for(path);
  try {
    writer(tmp);
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
  std::error_code ec;
  if (!fs::exists(tmp, ec)) fail("internal error: writer for '{}' produced no file", path);
  commit(tmp, path);
}

namespace {
/// The pid in a temporary name made by temp_name_for ("x.json.tmp-1234-7" -> 1234), or -1.
long temp_file_pid(const std::string& name) {
  const size_t tag = name.rfind(".tmp-");
  if (tag == std::string::npos) return -1;
  const std::string rest = name.substr(tag + 5);
  const size_t dash = rest.find('-');
  auto digits = [](const std::string& s) {
    return !s.empty() && s.size() <= 12 && s.find_first_not_of("0123456789") == std::string::npos;
  };
  if (dash == std::string::npos || !digits(rest.substr(0, dash)) || !digits(rest.substr(dash + 1))) return -1;
  return std::stol(rest.substr(0, dash));
}
}  // namespace

int remove_stale_temp_files(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return 0;
  int removed = 0;
  for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code type_ec;
    if (!it->is_regular_file(type_ec)) continue;
    const long pid = temp_file_pid(it->path().filename().string());
    if (pid <= 0 || pid == static_cast<long>(::getpid())) continue;
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;  // still running (or not ours to ask)
    std::error_code rm_ec;
    if (fs::remove(it->path(), rm_ec)) ++removed;
  }
  if (removed > 0) log::info("removed {} temporary file(s) left by killed runs in {}", removed, dir);
  return removed;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot open '{}': {}", path, std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) fail("cannot read '{}'", path);
  return ss.str();
}

void make_dirs(const std::string& path) {
  if (path.empty()) return;
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec) fail("cannot create directory '{}': {}", path, ec.message());
}

}  // namespace medssl
