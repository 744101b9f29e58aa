#pragma once
// Which Python globals a weights file may name (torch_save_unpickler.cpp asks at every GLOBAL / STACK_GLOBAL). No
// LibTorch, like the unpickler (fuzzed with it). A pickle refers to Python functions and classes by name ("GLOBAL
// os system") and Python's unpickler imports and calls them: that is how a checkpoint file runs code. medssl's
// unpickler never imports or calls anything, and on top of that it refuses every global that a state dict (or the
// usual training-checkpoint dict around it) does not use, so a hostile file is reported, not half-read.
//
//   state dict      collections.OrderedDict, torch._utils._rebuild_tensor(_v2), _rebuild_parameter(_with_state),
//                   torch._tensor._rebuild_from_type(_v2), torch.<Type>Storage, torch.Size, torch dtypes
//                   (torch.float32, ...), torch.device; other torch._utils / torch._tensor rebuild functions are
//                   accepted here and refused by name when called (quantised, sparse, nested tensors)
//   inert records   argparse.Namespace, numpy scalars / arrays / dtypes (numpy.core.multiarray.scalar, _reconstruct,
//                   numpy.dtype, numpy.ndarray, also under numpy._core), _codecs.encode, builtins.set / frozenset /
//                   bytearray / slice / complex: values seen beside the state dict in training checkpoints ("args",
//                   "best_acc"); kept as opaque placeholders, never part of the state dict
//   pickled module  torch.nn.*: an error saying to save model.state_dict() instead of the model
//   anything else   (os.system, builtins.eval, subprocess.Popen, pathlib, omegaconf, ...): an error naming the global
#include <string>

namespace medssl::weights::pickle {

enum class GlobalKind {
  state_dict,    ///< used to rebuild dicts and tensors
  inert_record,  ///< kept as an opaque placeholder
};

/// Python 3's name of a global that a protocol-2 pickle writes with Python 2's module name ("__builtin__.eval" ->
/// "builtins.eval", "copy_reg.x" -> "copyreg.x"); other names unchanged.
std::string python3_name(const std::string& name);

/// The kind of the global "module.name" (either spelling), or medssl::Error naming `path` and the global (Python 3
/// spelling) if it is not allowed.
GlobalKind classify_global(const std::string& path, const std::string& name);

/// The Python 3 name of the global if it is allowed (the unpickler's GLOBAL / STACK_GLOBAL opcodes), else
/// classify_global's error.
inline std::string checked_global(const std::string& path, const std::string& name) {
  classify_global(path, name);
  return python3_name(name);
}

}  // namespace medssl::weights::pickle
