#pragma once
// Internal to medssl_io: sequential reading of a file that may be gzip-compressed (detected by its magic bytes, not
// its name), with errors that name the file and distinguish "file ended early" from "gzip stream corrupt".
#include <cstdint>
#include <optional>
#include <string>

namespace medssl::io::detail {

class ByteSource {
 public:
  /// Opens `path`; throws medssl::Error naming it if it is missing or unreadable.
  explicit ByteSource(const std::string& path);
  ~ByteSource();
  ByteSource(const ByteSource&) = delete;
  ByteSource& operator=(const ByteSource&) = delete;

  /// Reads up to n bytes; returns fewer only at the end of the (decompressed) stream. Throws on read errors and on a
  /// corrupt or truncated gzip stream.
  size_t read(void* dst, size_t n);
  /// Skips up to n bytes; returns how many were skipped.
  uint64_t skip(uint64_t n);
  /// Reads and discards up to `limit` more bytes, so that gzip verifies its checksum and length trailer.
  void drain(uint64_t limit);

  bool compressed() const { return gz_ != nullptr; }
  /// Size of the file on disk (compressed size for gzip).
  uint64_t file_size() const { return file_size_; }
  const std::string& path() const { return path_; }

 private:
  void check_gz_error();
  std::string path_;
  void* gz_ = nullptr;    // gzFile
  void* file_ = nullptr;  // FILE*
  uint64_t file_size_ = 0;
};

}  // namespace medssl::io::detail
