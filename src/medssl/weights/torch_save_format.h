#pragma once
// The file format of Python's torch.save, read and written without Python or TorchScript.
//
// Why not torch::pickle_load / torch::pickle_save? Measured with LibTorch 1.13.1 against python3-torch 1.13:
//  - pickle_load cannot read what `torch.save(model.state_dict(), f)` writes: it turns collections.OrderedDict into
//    None ("Expected GenericDict but got None"), lacks the SETITEM opcode of one-entry dicts ({'version': 1} in the
//    state dict's _metadata; "Unknown opcode 115"), cannot rebuild nn.Parameter (state_dict(keep_vars=True)) and
//    cannot read the legacy format (_use_new_zipfile_serialization=False, and every file of PyTorch < 1.6).
//    It reads only a plain dict with two or more tensors.
//  - pickle_save tags the dict with torch.jit._pickle.restore_type_tag, which torch.load(weights_only=True) rejects
//    (weights_only is the default from PyTorch 2.6 on).
//
// read_torch_save is a restricted unpickler: it builds dicts, lists, tuples, numbers, strings and tensors
// (torch._utils._rebuild_tensor_v2, _rebuild_parameter), keeps any other Python object as an opaque placeholder and
// never executes anything. Both the zip format (PyTorch >= 1.6) and the legacy format are read. Storages are read on
// the CPU whatever device they were saved from. Quantised, sparse and other special tensors are refused by name.
#include <string>

#include "medssl/weights/state_dict_io.h"

namespace medssl::weights {

/// The state dict found in a torch.save file.
struct TorchSaveContents {
  StateDict tensors;
  bool legacy_format = false;  ///< the pre-1.6 format (_use_new_zipfile_serialization=False)
  std::string entry;           ///< "" = the saved object itself; else its key in the saved dict, e.g. "state_dict"
};

/// The dict entries that hold a model's state dict in common training-checkpoint dicts, tried in this order when the
/// saved dict itself is not a dict of tensors ({"epoch": 3, "state_dict": {...}, "optimizer": {...}}).
const std::vector<std::string>& state_dict_entry_names();

/// Reads the state dict of a torch.save file: the saved dict of tensors itself (dict or OrderedDict, any number of
/// entries), or the dict of tensors under one of state_dict_entry_names(). Throws medssl::Error naming `path` for a
/// missing, truncated or corrupt file, a pickled module (torch.save(model)), or a dict holding no state dict.
TorchSaveContents read_torch_save(const std::string& path);

/// Writes `tensors` the way Python's torch.save(dict) does (zip format, pickle protocol 2, one storage per tensor),
/// atomically. Python's torch.load reads it (also with weights_only=True), as do read_torch_save and
/// load_state_dict_file. Tensors are written from the CPU, contiguous.
void write_torch_save(const StateDict& tensors, const std::string& path);

}  // namespace medssl::weights
