// Hostile torch.save pickles: each must give medssl::Error naming the file, never a crash, a stack overflow, a leak
// or an integer overflow. The pickles are assembled opcode by opcode here; each case is one a fuzzer or a reviewer
// found (docs/reliability.md lists them). Also: the LibTorch-free storage table agrees with LibTorch's types.
#include <gtest/gtest.h>

#include <cstring>
#include <limits>

#include "medssl/core/error.h"
#include "medssl/weights/torch_save_format.h"
#include "medssl/weights/torch_save_pickle.h"
#include "medssl/weights/torch_save_storage.h"
#include "testkit/testkit.h"

namespace medssl::weights {
namespace {

using testkit::error_of;

/// Appends pickle opcodes (protocol 2, as torch.save writes them).
struct Pickle {
  std::string bytes = std::string("\x80\x02", 2);
  Pickle& op(char c) {
    bytes += c;
    return *this;
  }
  Pickle& global(const std::string& module, const std::string& name) {
    bytes += 'c' + module + '\n' + name + '\n';
    return *this;
  }
  Pickle& str(const std::string& s) {
    bytes += 'X';
    const uint32_t n = static_cast<uint32_t>(s.size());
    bytes.append(reinterpret_cast<const char*>(&n), 4);
    bytes += s;
    return *this;
  }
  Pickle& append_u16(uint16_t v) {
    bytes.append(reinterpret_cast<const char*>(&v), 2);
    return *this;
  }
  Pickle& integer(int64_t v) {  // LONG1 with 8 bytes: any int64
    bytes += "\x8a\x08";
    bytes.append(reinterpret_cast<const char*>(&v), 8);
    return *this;
  }
  /// ('storage', torch.FloatStorage, key, 'cpu', numel[, (key, view_offset, numel)]) then BINPERSID.
  Pickle& storage(const std::string& key, int64_t numel, const int64_t* view_offset = nullptr) {
    op('(').str("storage").global("torch", "FloatStorage").str(key).str("cpu").integer(numel);
    if (view_offset) op('(').str(key).integer(*view_offset).integer(numel).op('t');
    return op('t').op('Q');
  }
  /// _rebuild_tensor_v2(storage, offset, sizes, strides, False, OrderedDict()) with the storage already on the stack
  /// below the global: callers push the global first, then call this.
  Pickle& tensor_args(int64_t offset, const std::vector<int64_t>& sizes, const std::vector<int64_t>& strides) {
    integer(offset).op('(');
    for (int64_t s : sizes) integer(s);
    op('t').op('(');
    for (int64_t s : strides) integer(s);
    return op('t').op('\x89').global("collections", "OrderedDict").op(')').op('R');
  }
  /// {name: tensor} with one tensor of a float storage.
  static Pickle state_dict(const std::string& name, int64_t numel, int64_t offset, const std::vector<int64_t>& sizes,
                           const std::vector<int64_t>& strides, const int64_t* view_offset = nullptr) {
    Pickle p;
    p.op('}').str(name).global("torch._utils", "_rebuild_tensor_v2").op('(');
    p.storage("0", numel, view_offset).tensor_args(offset, sizes, strides);
    return p.op('t').op('R').op('s').op('.');
  }
};

std::string error_reading(const std::string& pickle) {
  return error_of([&] { torch_save::read_state_dict_pickle(pickle, "hostile.pt"); });
}

TEST(TorchSaveHostile, AValidHandMadePickleReads) {
  const auto dict = torch_save::read_state_dict_pickle(Pickle::state_dict("w", 6, 0, {2, 3}, {3, 1}).bytes, "ok.pt");
  ASSERT_EQ(dict.tensors.size(), 1u);
  EXPECT_EQ(dict.tensors[0].name, "w");
  EXPECT_EQ(dict.tensors[0].sizes, (std::vector<int64_t>{2, 3}));
  EXPECT_FALSE(torch_save::check_tensor_in_storage(dict.tensors[0], 6, "ok.pt"));
  EXPECT_NE(error_of([&] { torch_save::check_tensor_in_storage(dict.tensors[0], 5, "ok.pt"); }).find("past the end"),
            std::string::npos);
}

TEST(TorchSaveHostile, DeeplyNestedTensorSubclassRecordsDoNotOverflowTheStack) {
  // T_k = (rebuild_from_type_v2, None, T_{k-1}): every level makes the reader call itself once more. Without a
  // depth bound, 100000 levels (400 KB) overflowed the stack.
  Pickle p;
  p.global("torch._tensor", "_rebuild_from_type_v2").op('q').op('\0');
  const int levels = 100000;
  for (int i = 0; i < levels; ++i) p.op('h').op('\0').op('N');
  p.op(')');
  for (int i = 0; i < levels; ++i) p.op('\x87');
  p.op('R').op('.');
  const std::string msg = error_reading(p.bytes);
  EXPECT_NE(msg.find("hostile.pt"), std::string::npos) << msg;
  EXPECT_NE(msg.find("nested"), std::string::npos) << msg;
}

TEST(TorchSaveHostile, SelfContainingContainersAreRejectedAndFreed) {
  // A dict that holds itself, and a list that holds itself (memo + SETITEM / APPEND). Shared pointers alone would
  // leak them (the sanitizer build checks that nothing leaks).
  Pickle dict;
  dict.op('}').op('q').op('\0').str("self").op('h').op('\0').op('s').op('.');
  std::string msg = error_reading(dict.bytes);
  EXPECT_NE(msg.find("hostile.pt"), std::string::npos) << msg;
  EXPECT_NE(msg.find("not a state dict"), std::string::npos) << msg;
  Pickle list;
  list.op('}').str("x").op(']').op('q').op('\1').op('h').op('\1').op('a').op('s').op('.');
  msg = error_reading(list.bytes);
  EXPECT_NE(msg.find("a list of 1"), std::string::npos) << msg;
}

TEST(TorchSaveHostile, OffsetsThatOverflowAreRejected) {
  // A legacy storage view at offset INT64_MAX plus a tensor offset of 1 overflowed int64 (undefined behaviour).
  const int64_t huge = std::numeric_limits<int64_t>::max();
  std::string msg = error_reading(Pickle::state_dict("w", 4, 1, {1}, {1}, &huge).bytes);
  EXPECT_NE(msg.find("storage offset"), std::string::npos) << msg;
  // Sizes whose product overflows int64, with zero strides so that they would fit in a 1-element storage.
  const auto dict = torch_save::read_state_dict_pickle(
      Pickle::state_dict("w", 1, 0, {int64_t{1} << 40, int64_t{1} << 40}, {0, 0}).bytes, "hostile.pt");
  msg = error_of([&] { torch_save::check_tensor_in_storage(dict.tensors[0], 1, "hostile.pt"); });
  EXPECT_NE(msg.find("64 bits"), std::string::npos) << msg;
  // Extents (size - 1) * stride of about 2^126 each: four of them overflowed even 128-bit arithmetic (undefined
  // behaviour) before the element count was looked at; the sum now saturates.
  const int64_t big = std::numeric_limits<int64_t>::max();
  const auto far = torch_save::read_state_dict_pickle(
      Pickle::state_dict("w", 1, 0, {big, big, big, big}, {big, big, big, big}).bytes, "hostile.pt");
  msg = error_of([&] { torch_save::check_tensor_in_storage(far.tensors[0], 1, "hostile.pt"); });
  EXPECT_NE(msg.find("64 bits"), std::string::npos) << msg;
  const auto reach = torch_save::read_state_dict_pickle(
      Pickle::state_dict("w", 1, 0, {2, 2, 2, 2}, {big, big, big, big}).bytes, "hostile.pt");
  msg = error_of([&] { torch_save::check_tensor_in_storage(reach.tensors[0], 1, "hostile.pt"); });
  EXPECT_NE(msg.find("past the end"), std::string::npos) << msg;
  // Negative sizes and strides.
  const auto negative =
      torch_save::read_state_dict_pickle(Pickle::state_dict("w", 4, 0, {-1}, {1}).bytes, "hostile.pt");
  msg = error_of([&] { torch_save::check_tensor_in_storage(negative.tensors[0], 4, "hostile.pt"); });
  EXPECT_NE(msg.find("negative"), std::string::npos) << msg;
}

TEST(TorchSaveHostile, TruncatedAndMalformedPicklesNameTheFile) {
  const std::string whole = Pickle::state_dict("w", 6, 0, {2, 3}, {3, 1}).bytes;
  for (size_t cut = 0; cut < whole.size(); ++cut) {
    const std::string msg = error_reading(whole.substr(0, cut));
    EXPECT_NE(msg.find("hostile.pt"), std::string::npos) << "cut at " << cut << ": " << msg;
  }
  EXPECT_NE(error_reading(std::string("\x80\x02\xff", 3)).find("opcode 0xff"), std::string::npos);
  EXPECT_NE(error_reading(std::string("\x80\x02.", 3)).find("stack underflow"), std::string::npos);
  EXPECT_NE(error_reading(std::string("\x80\x02h\x05.", 5)).find("memo entry 5"), std::string::npos);
}

TEST(TorchSaveHostile, LegacyFileWhoseStorageIsCutIsNamedByTheTorchReader) {
  // A whole legacy-format file: magic, protocol version 1001, system info, the dict, the key list, then storage "0"
  // with an element count larger than what follows.
  std::string file = std::string("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19\x2e", 15);
  file += Pickle().op('M').append_u16(1001).op('.').bytes;
  file += Pickle().op('}').op('.').bytes;
  std::string dict = Pickle::state_dict("w", 4, 0, {4}, {1}).bytes;
  file += dict;
  file += Pickle().op(']').str("0").op('a').op('.').bytes;
  const int64_t numel = 4;
  file.append(reinterpret_cast<const char*>(&numel), 8);
  const float values[3] = {1, 2, 3};  // one element short
  file.append(reinterpret_cast<const char*>(values), sizeof(values));
  testkit::TempDir dir("medssl-tsf-hostile");
  testkit::write_text(dir.file("legacy.pt"), file);
  std::string msg = error_of([&] { read_torch_save(dir.file("legacy.pt")); });
  EXPECT_NE(msg.find("legacy.pt"), std::string::npos) << msg;
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
  // With the missing element it reads, through the LibTorch half, as the tensor it describes.
  const float last = 4;
  testkit::write_text(dir.file("legacy_ok.pt"), file + std::string(reinterpret_cast<const char*>(&last), 4));
  const auto contents = read_torch_save(dir.file("legacy_ok.pt"));
  EXPECT_TRUE(contents.legacy_format);
  EXPECT_TRUE(torch::equal(contents.tensors.at("w"), torch::tensor({1.f, 2.f, 3.f, 4.f})));
}

TEST(TorchSaveHostile, TorchFreeStorageTableMatchesLibTorch) {
  for (const auto& c : torch_save::storage_classes()) {
    ASSERT_TRUE(torch_save::storage_types().count(c.name)) << c.name;
    const auto type = torch_save::storage_types().at(c.name);
    EXPECT_EQ(std::string(c10::toString(type)), c.dtype) << c.name;
    EXPECT_EQ(c10::elementSize(type), c.element_bytes) << c.name;
  }
  EXPECT_EQ(torch_save::storage_classes().size(), torch_save::storage_types().size());
}

}  // namespace
}  // namespace medssl::weights
