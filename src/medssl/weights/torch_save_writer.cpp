// write_torch_save: Python's torch.save zip layout (data.pkl + data/<n> storage records), pickled with the opcodes
// Python's own pickler emits, so that torch.load(weights_only=True) accepts it (see torch_save_format.h).
#include <caffe2/serialize/inline_container.h>

#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "medssl/core/atomic_file.h"
#include "medssl/core/error.h"
#include "medssl/weights/torch_save_format.h"
#include "medssl/weights/torch_save_storage.h"

namespace medssl::weights {
namespace {

/// The pickle protocol 2 opcodes Python's own pickler emits for torch.save({name: tensor}).
class PickleWriter {
 public:
  void proto() { out_ += "\x80\x02"; }
  void op(char c) { out_ += c; }
  void global(const std::string& module, const std::string& name) { out_ += 'c' + module + '\n' + name + '\n'; }
  void string(const std::string& s) {
    out_ += 'X';
    append_le(static_cast<uint32_t>(s.size()));
    out_ += s;
  }
  void integer(int64_t v) {
    if (v >= 0 && v < 256) {
      out_ += 'K';
      out_ += static_cast<char>(v);
    } else if (v >= 0 && v < 65536) {
      out_ += 'M';
      append_le(static_cast<uint16_t>(v));
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
      out_ += 'J';
      append_le(static_cast<int32_t>(v));
    } else {
      out_ += "\x8a\x08";  // LONG1, 8 bytes two's complement
      append_le(v);
    }
  }
  void int_tuple(c10::IntArrayRef values) {
    if (values.empty()) return op(')');
    op('(');
    for (auto v : values) integer(v);
    op('t');
  }
  const std::string& bytes() const { return out_; }

 private:
  template <typename T>
  void append_le(T v) {
    char buf[sizeof(T)];
    std::memcpy(buf, &v, sizeof(T));
    out_.append(buf, sizeof(T));
  }
  std::string out_;
};

}  // namespace

void write_torch_save(const StateDict& tensors, const std::string& path,
                      const std::map<std::string, std::string>& extra_records) {
  // Python's layout: data.pkl holds dict {name: _rebuild_tensor_v2(storage pid, offset, size, stride, False,
  // OrderedDict())}, the storages are the records data/0, data/1, ...
  std::vector<torch::Tensor> storages;
  PickleWriter p;
  p.proto();
  p.op('}');
  size_t in_batch = 0;
  for (const auto& [name, tensor] : tensors) {
    check(tensor.defined(), "writing '{}': tensor \"{}\" is undefined", path, name);
    if (in_batch == 0) p.op('(');
    auto t = tensor.detach().to(torch::kCPU).contiguous();
    const std::string key = std::to_string(storages.size());
    p.string(name);
    p.global("torch._utils", "_rebuild_tensor_v2");
    p.op('(');
    p.op('(');  // persistent id
    p.string("storage");
    const std::string cls = torch_save::storage_class(t.scalar_type());
    p.global("torch", cls.substr(cls.find('.') + 1));
    p.string(key);
    p.string("cpu");
    p.integer(t.numel());
    p.op('t');
    p.op('Q');
    p.integer(0);
    p.int_tuple(t.sizes());
    p.int_tuple(t.strides());
    p.op('\x89');  // requires_grad False
    p.global("collections", "OrderedDict");
    p.op(')');
    p.op('R');  // backward hooks: OrderedDict()
    p.op('t');
    p.op('R');
    storages.push_back(t);
    if (++in_batch == 1000) {  // Python's pickler batches SETITEMS by 1000 too
      p.op('u');
      in_batch = 0;
    }
  }
  if (in_batch > 0) p.op('u');
  p.op('.');

  std::string archive;
  try {
    caffe2::serialize::PyTorchStreamWriter writer([&](const void* data, size_t size) {
      archive.append(static_cast<const char*>(data), size);
      return size;
    });
    writer.writeRecord("data.pkl", p.bytes().data(), p.bytes().size());
    static const char kNothing = 0;  // an empty tensor may have no data pointer
    for (size_t i = 0; i < storages.size(); ++i) {
      const void* data = storages[i].nbytes() > 0 ? storages[i].data_ptr() : &kNothing;
      writer.writeRecord("data/" + std::to_string(i), data, storages[i].nbytes());
    }
    for (const auto& [name, bytes] : extra_records) {
      check(name != "data.pkl" && name.rfind("data/", 0) != 0 && name != "version",
            "writing '{}': the extra record name {} is torch.save's own", path, name);
      writer.writeRecord(name, bytes.data(), bytes.size());
    }
    writer.writeEndOfFile();  // also writes the "version" record
  } catch (const c10::Error& e) {
    fail("writing '{}': {}", path, e.what_without_backtrace());
  }
  write_file_atomic(path, archive);
}

}  // namespace medssl::weights
