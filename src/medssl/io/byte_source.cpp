#include "medssl/io/byte_source.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <vector>

#include "medssl/core/error.h"

namespace medssl::io::detail {
namespace fs = std::filesystem;

ByteSource::ByteSource(const std::string& path) : path_(path) {
  std::error_code ec;
  auto status = fs::status(path, ec);
  check(fs::exists(status), "cannot read '{}': no such file", path);
  check(!fs::is_directory(status), "cannot read '{}': it is a directory", path);
  file_size_ = fs::file_size(path, ec);
  if (ec) fail("cannot read '{}': {}", path, ec.message());

  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) fail("cannot open '{}': {}", path, std::strerror(errno));
  unsigned char magic[2] = {0, 0};
  size_t got = std::fread(magic, 1, 2, f);
  const bool gzip = got == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
  if (!gzip) {
    std::rewind(f);
    file_ = f;
    return;
  }
  std::fclose(f);
  gzFile gz = gzopen(path.c_str(), "rb");
  if (!gz) fail("cannot open gzip file '{}': {}", path, errno ? std::strerror(errno) : "out of memory");
  gzbuffer(gz, 1 << 18);
  gz_ = gz;
}

ByteSource::~ByteSource() {
  if (gz_) gzclose_r(static_cast<gzFile>(gz_));
  if (file_) std::fclose(static_cast<FILE*>(file_));
}

void ByteSource::check_gz_error() {
  int code = Z_OK;
  const char* message = gzerror(static_cast<gzFile>(gz_), &code);
  if (code == Z_OK || code == Z_STREAM_END) return;
  if (code == Z_ERRNO) fail("cannot read '{}': {}", path_, std::strerror(errno));
  fail("'{}' is a corrupt or truncated gzip file: {}", path_, message ? message : "unknown zlib error");
}

size_t ByteSource::read(void* dst, size_t n) {
  auto* out = static_cast<unsigned char*>(dst);
  size_t done = 0;
  while (done < n) {
    const size_t want = std::min<size_t>(n - done, 1u << 30);  // gzread takes an unsigned int
    size_t got;
    if (gz_) {
      int r = gzread(static_cast<gzFile>(gz_), out + done, static_cast<unsigned>(want));
      if (r < 0) check_gz_error();
      got = r < 0 ? 0 : static_cast<size_t>(r);
      if (got < want) check_gz_error();  // zlib reports a truncated stream as a short read plus an error code
    } else {
      FILE* f = static_cast<FILE*>(file_);
      got = std::fread(out + done, 1, want, f);
      if (got < want && std::ferror(f)) fail("cannot read '{}': {}", path_, std::strerror(errno));
    }
    done += got;
    if (got < want) break;
  }
  return done;
}

uint64_t ByteSource::skip(uint64_t n) {
  std::vector<unsigned char> scratch(static_cast<size_t>(std::min<uint64_t>(n, 1 << 16)));
  uint64_t done = 0;
  while (done < n) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(n - done, scratch.size()));
    size_t got = read(scratch.data(), want);
    done += got;
    if (got < want) break;
  }
  return done;
}

void ByteSource::drain(uint64_t limit) {
  if (gz_) skip(limit);
}

}  // namespace medssl::io::detail
