#include "medssl/weights/pickle_globals.h"

#include <set>

#include "medssl/core/error.h"

namespace medssl::weights::pickle {
namespace {

bool starts_with(const std::string& s, const std::string& head) { return s.rfind(head, 0) == 0; }
bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

const std::set<std::string>& state_dict_globals() {
  static const std::set<std::string> names = {
      "collections.OrderedDict", "torch.Size", "torch.device", "builtins.dict", "builtins.list", "builtins.tuple"};
  return names;
}

// The dtype objects torch pickles by name (torch.float32 is written as GLOBAL "torch float32").
const std::set<std::string>& torch_dtypes() {
  static const std::set<std::string> names = {
      "float32", "float", "float64", "double", "float16", "half", "bfloat16", "int64", "long", "int32", "int",
      "int16", "short", "int8", "uint8", "bool", "complex64", "complex128", "cfloat", "cdouble"};
  return names;
}

const std::set<std::string>& inert_records() {
  static const std::set<std::string> names = {
      "argparse.Namespace",
      "numpy.core.multiarray.scalar", "numpy.core.multiarray._reconstruct", "numpy._core.multiarray.scalar",
      "numpy._core.multiarray._reconstruct", "numpy.dtype", "numpy.ndarray",
      "_codecs.encode",
      "builtins.set", "builtins.frozenset", "builtins.bytearray", "builtins.slice", "builtins.complex"};
  return names;
}

}  // namespace

std::string python3_name(const std::string& name) {
  // Protocol 2 pickles (torch.save's default) write Python 2's module names, which Python 3 maps back on loading.
  if (starts_with(name, "__builtin__.")) return "builtins." + name.substr(12);
  if (starts_with(name, "copy_reg.")) return "copyreg." + name.substr(9);
  return name;
}

GlobalKind classify_global(const std::string& path, const std::string& full_name) {
  const std::string name = python3_name(full_name);
  if (state_dict_globals().count(name)) return GlobalKind::state_dict;
  if (starts_with(name, "torch._utils._rebuild") || starts_with(name, "torch._tensor._rebuild"))
    return GlobalKind::state_dict;  // the dense ones are rebuilt; the others are refused by name when called
  if (starts_with(name, "torch.") && ends_with(name, "Storage") && name.find('.', 6) == std::string::npos)
    return GlobalKind::state_dict;  // torch.FloatStorage, ...; unknown element types are refused with the storage
  if (starts_with(name, "torch.") && torch_dtypes().count(name.substr(6))) return GlobalKind::state_dict;
  if (inert_records().count(name)) return GlobalKind::inert_record;
  if (starts_with(name, "torch.nn."))
    fail("'{}' holds a pickled Python module ({}), not a state dict: in Python, save model.state_dict() instead of "
         "the model", path, name);
  fail("'{}' refers to the Python global {}, which a state dict never uses. medssl refuses it: a checkpoint is "
       "untrusted input, and loading it in Python (torch.load without weights_only) would run {}. If you trust the "
       "file, keep only its weights in Python: torch.save(torch.load(f)[\"state_dict\"], \"weights.pt\")",
       path, name, name);
}

}  // namespace medssl::weights::pickle
