// The restricted pickle virtual machine of torch.save files (torch_save_unpickler.h). No LibTorch.
#include "medssl/weights/torch_save_unpickler.h"

#include <fmt/format.h>

#include <cstring>

#include "medssl/core/error.h"
#include "medssl/weights/pickle_globals.h"

namespace medssl::weights::torch_save {

std::string describe(const Py& v) {
  switch (v->kind) {
    case PyValue::Kind::none: return "None";
    case PyValue::Kind::boolean: return "a bool";
    case PyValue::Kind::integer: return "an int";
    case PyValue::Kind::floating: return "a float";
    case PyValue::Kind::string: return "a str";
    case PyValue::Kind::bytes: return "bytes";
    case PyValue::Kind::list: return fmt::format("a list of {}", v->items.size());
    case PyValue::Kind::tuple: return fmt::format("a tuple of {}", v->items.size());
    case PyValue::Kind::dict: return fmt::format("a dict of {} entries", v->entries.size());
    case PyValue::Kind::global: return "the Python name " + v->text;
    case PyValue::Kind::object: return "a Python object of class " + v->text;
    case PyValue::Kind::storage: return "a storage";
    case PyValue::Kind::tensor: return "a tensor";
  }
  return "a value";
}

Py Unpickler::rebuild_tensor(const std::vector<Py>& args) {
  // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
  using K = PyValue::Kind;
  if (args.size() < 4 || args[0]->kind != K::storage || args[1]->kind != K::integer || args[2]->kind != K::tuple ||
      args[3]->kind != K::tuple)
    corrupt("malformed tensor record");
  auto t = heap_.make(K::tensor);
  t->tensor.storage = args[0]->storage;
  t->tensor.offset = args[1]->integer;
  for (const auto& s : args[2]->items) {
    if (s->kind != K::integer) corrupt("non-integer tensor size");
    t->tensor.sizes.push_back(s->integer);
  }
  for (const auto& s : args[3]->items) {
    if (s->kind != K::integer) corrupt("non-integer tensor stride");
    t->tensor.strides.push_back(s->integer);
  }
  if (t->tensor.sizes.size() != t->tensor.strides.size()) corrupt("tensor sizes and strides differ in length");
  return t;
}

Py Unpickler::call(const Py& callable, const Py& args, int depth) {
  using K = PyValue::Kind;
  if (callable->kind != K::global) return heap_.make_text(K::object, "(result of calling " + describe(callable) + ")");
  const std::string& name = callable->text;
  const std::vector<Py> no_args;
  const std::vector<Py>& a = args->kind == K::tuple ? args->items : no_args;
  if (name == "collections.OrderedDict" || name == "builtins.dict") {
    auto d = heap_.make(K::dict);
    if (!a.empty() && a[0]->kind == K::list)  // OrderedDict([(key, value), ...])
      for (const auto& pair : a[0]->items)
        if (pair->kind == K::tuple && pair->items.size() == 2) d->entries.emplace_back(pair->items[0], pair->items[1]);
    return d;
  }
  if (name == "torch._utils._rebuild_tensor_v2" || name == "torch._utils._rebuild_tensor") return rebuild_tensor(a);
  if (name == "torch._utils._rebuild_parameter" || name == "torch._utils._rebuild_parameter_with_state") {
    if (a.empty() || a[0]->kind != K::tensor) corrupt("malformed nn.Parameter record");
    return a[0];
  }
  if (name == "torch._tensor._rebuild_from_type_v2" || name == "torch._tensor._rebuild_from_type") {
    // Tensor subclasses: (function, class, args, state) -> the tensor the inner function rebuilds.
    if (a.size() < 3) corrupt("malformed tensor subclass record");
    if (depth >= kMaxRebuildNesting) corrupt(fmt::format("tensor subclass records nested over {} deep", depth));
    return call(a[0], a[2], depth + 1);
  }
  if (name.rfind("torch.", 0) == 0 && name.find("_rebuild") != std::string::npos)
    fail("'{}' holds a tensor stored with {} (quantised, sparse, nested or other special tensor), which medssl cannot "
         "read; save dense tensors (e.g. {{k: v.dequantize().to_dense()}})", path_, name);
  return heap_.make_text(K::object, name);
}

Py Unpickler::load() {
  using K = PyValue::Kind;
  for (;;) {
    const auto op = static_cast<uint8_t>(take(1)[0]);
    switch (op) {
      case 0x80: {  // PROTO
        const auto protocol = static_cast<uint8_t>(take(1)[0]);
        if (protocol > 5) corrupt(fmt::format("unsupported pickle protocol {}", protocol));
        break;
      }
      case 0x95: take(8); break;  // FRAME: only a read-ahead hint
      case '.': {                 // STOP
        Py result = pop();
        if (!stack_.empty() || !marks_.empty()) corrupt("unbalanced stack at STOP");
        return result;
      }
      case '(': marks_.push_back(stack_.size()); break;
      case '}': stack_.push_back(heap_.make(K::dict)); break;
      case ']': stack_.push_back(heap_.make(K::list)); break;
      case ')': stack_.push_back(heap_.make(K::tuple)); break;
      case 0x8f: stack_.push_back(heap_.make(K::list)); break;  // EMPTY_SET (a set is kept as a list)
      case 'd': {                                                // DICT
        auto items = pop_mark();
        if (items.size() % 2) corrupt("odd number of items for DICT");
        auto d = heap_.make(K::dict);
        for (size_t i = 0; i < items.size(); i += 2) d->entries.emplace_back(items[i], items[i + 1]);
        stack_.push_back(d);
        break;
      }
      case 'l': stack_.push_back(heap_.make_sequence(K::list, pop_mark())); break;
      case 0x91: stack_.push_back(heap_.make_sequence(K::list, pop_mark())); break;  // FROZENSET
      case 't': stack_.push_back(heap_.make_sequence(K::tuple, pop_mark())); break;
      case 0x85: case 0x86: case 0x87: {  // TUPLE1..3
        std::vector<Py> items(op - 0x84);
        for (size_t i = items.size(); i-- > 0;) items[i] = pop();
        stack_.push_back(heap_.make_sequence(K::tuple, std::move(items)));
        break;
      }
      case 'N': stack_.push_back(heap_.make(K::none)); break;
      case 0x88: case 0x89: {  // NEWTRUE, NEWFALSE
        auto b = heap_.make(K::boolean);
        b->boolean = op == 0x88;
        stack_.push_back(b);
        break;
      }
      case 'J': stack_.push_back(heap_.make_int(little_endian<int32_t>())); break;   // BININT
      case 'K': stack_.push_back(heap_.make_int(little_endian<uint8_t>())); break;   // BININT1
      case 'M': stack_.push_back(heap_.make_int(little_endian<uint16_t>())); break;  // BININT2
      case 0x8a: case 0x8b: {                                                        // LONG1, LONG4
        const uint64_t n = op == 0x8a ? little_endian<uint8_t>() : little_endian<uint32_t>();
        auto bytes = take(n);
        if (n > 8) {  // too large for int64 (e.g. the legacy format's magic number): kept opaque
          stack_.push_back(heap_.make_text(K::object, "builtins.int"));
          break;
        }
        uint64_t u = 0;
        for (size_t i = 0; i < n; ++i) u |= static_cast<uint64_t>(static_cast<uint8_t>(bytes[i])) << (8 * i);
        if (n > 0 && n < 8 && (static_cast<uint8_t>(bytes[n - 1]) & 0x80)) u |= ~uint64_t(0) << (8 * n);  // sign
        stack_.push_back(heap_.make_int(static_cast<int64_t>(u)));
        break;
      }
      case 'G': {  // BINFLOAT, big-endian
        auto bytes = take(8);
        uint64_t u = 0;
        for (size_t i = 0; i < 8; ++i) u = (u << 8) | static_cast<uint8_t>(bytes[i]);
        auto f = heap_.make(K::floating);
        std::memcpy(&f->floating, &u, sizeof(double));
        stack_.push_back(f);
        break;
      }
      case 'X': stack_.push_back(heap_.make_text(K::string, std::string(take(little_endian<uint32_t>())))); break;
      case 0x8c: stack_.push_back(heap_.make_text(K::string, std::string(take(little_endian<uint8_t>())))); break;
      case 0x8d: stack_.push_back(heap_.make_text(K::string, std::string(take(little_endian<uint64_t>())))); break;
      case 'T': {  // BINSTRING (Python 2 str)
        const int32_t n = little_endian<int32_t>();
        if (n < 0) corrupt("negative string length");
        stack_.push_back(heap_.make_text(K::string, std::string(take(static_cast<uint64_t>(n)))));
        break;
      }
      case 'U': stack_.push_back(heap_.make_text(K::string, std::string(take(little_endian<uint8_t>())))); break;
      case 'B': stack_.push_back(heap_.make_text(K::bytes, std::string(take(little_endian<uint32_t>())))); break;
      case 'C': stack_.push_back(heap_.make_text(K::bytes, std::string(take(little_endian<uint8_t>())))); break;
      case 0x8e: case 0x96:  // BINBYTES8, BYTEARRAY8
        stack_.push_back(heap_.make_text(K::bytes, std::string(take(little_endian<uint64_t>()))));
        break;
      case 'c': {  // GLOBAL "module\nname\n"
        std::string module = line();
        std::string name = line();
        stack_.push_back(heap_.make_text(K::global, pickle::checked_global(path_, module + "." + name)));
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        Py name = pop(), module = pop();
        if (name->kind != K::string || module->kind != K::string) corrupt("STACK_GLOBAL without strings");
        stack_.push_back(heap_.make_text(K::global, pickle::checked_global(path_, module->text + "." + name->text)));
        break;
      }
      case 'R': {  // REDUCE
        Py args = pop();
        Py callable = pop();
        stack_.push_back(call(callable, args));
        break;
      }
      case 0x81: {  // NEWOBJ: cls.__new__(cls, *args)
        pop();
        Py cls = pop();
        stack_.push_back(heap_.make_text(K::object, cls->kind == K::global ? cls->text : "(unknown class)"));
        break;
      }
      case 0x92: {  // NEWOBJ_EX
        pop();
        pop();
        Py cls = pop();
        stack_.push_back(heap_.make_text(K::object, cls->kind == K::global ? cls->text : "(unknown class)"));
        break;
      }
      case 'b': pop(); break;  // BUILD: instance state (e.g. the state dict's _metadata) is not needed
      case 'q': memo_put(little_endian<uint8_t>()); break;
      case 'r': memo_put(little_endian<uint32_t>()); break;
      case 0x94: memo_put(memo_.size()); break;  // MEMOIZE
      case 'h': stack_.push_back(memo_get(little_endian<uint8_t>())); break;
      case 'j': stack_.push_back(memo_get(little_endian<uint32_t>())); break;
      case 's': {  // SETITEM
        Py value = pop(), key = pop();
        container(K::dict, "SETITEM")->entries.emplace_back(key, value);
        break;
      }
      case 'u': {  // SETITEMS
        auto items = pop_mark();
        if (items.size() % 2) corrupt("odd number of items for SETITEMS");
        Py& d = container(K::dict, "SETITEMS");
        for (size_t i = 0; i < items.size(); i += 2) d->entries.emplace_back(items[i], items[i + 1]);
        break;
      }
      case 'a': {  // APPEND
        Py value = pop();
        container(K::list, "APPEND")->items.push_back(value);
        break;
      }
      case 'e': case 0x90: {  // APPENDS, ADDITEMS
        auto items = pop_mark();
        Py& list = container(K::list, op == 'e' ? "APPENDS" : "ADDITEMS");
        list->items.insert(list->items.end(), items.begin(), items.end());
        break;
      }
      case 'Q': stack_.push_back(persistent_load_(pop())); break;  // BINPERSID
      case '0': pop(); break;
      case '1': pop_mark(); break;
      case '2': stack_.push_back(top()); break;
      default: corrupt(fmt::format("unsupported pickle opcode 0x{:02x}", op));
    }
  }
}

}  // namespace medssl::weights::torch_save
