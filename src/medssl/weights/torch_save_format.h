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
// read_torch_save runs a restricted unpickler (torch_save_pickle.h, no LibTorch, fuzzed): it never executes anything
// and refuses every Python global a state dict does not use (pickle_globals.h), so a hostile file is an error, never
// code run. Both the zip
// format (PyTorch >= 1.6) and the legacy format are read. Storages are read on the CPU whatever device they were
// saved from; tensors that share a storage and non-contiguous views keep their values. Quantised, sparse and other
// special tensors are refused by name; a tensor that reaches past its storage is refused naming the tensor.
#include <string>
#include <map>
#include <vector>

#include "medssl/weights/state_dict_io.h"
#include "medssl/weights/torch_save_pickle.h"  // StateDictCandidate

namespace medssl::weights {

/// The state dict found in a torch.save file.
struct TorchSaveContents {
  StateDict tensors;
  bool legacy_format = false;  ///< the pre-1.6 format (_use_new_zipfile_serialization=False)
  std::string entry;           ///< "" = the saved object itself; else its path in the saved dict, e.g. "state_dict"
  std::vector<StateDictCandidate> candidates;  ///< every dict of tensors in the file (the chosen one included)
  std::string manifest_json;   ///< the embedded medssl manifest record (kManifestRecord), "" if none
};

/// The zip record medssl adds to the torch.save files it writes, holding the weights' manifest (manifest.h). Python's
/// torch.load ignores it; zipfile reads it.
inline constexpr const char* kManifestRecord = "medssl_manifest.json";

/// The dict entries preferred, in this order, when a training-checkpoint dict holds several dicts of tensors
/// ({"epoch": 3, "state_dict": {...}, "ema": {...}}).
const std::vector<std::string>& state_dict_entry_names();

/// Reads the state dict of a torch.save file: the saved dict of tensors itself (dict or OrderedDict, any number of
/// entries), or a dict of tensors nested in it (up to 3 levels: "state_dict", "model", "teacher", "model/module").
/// `entry` chooses one by its path; without it the only one is taken, else the first of state_dict_entry_names(),
/// else it is an error listing the candidates ({"teacher": ..., "student": ...}). Throws medssl::Error naming `path`
/// for a missing, truncated or corrupt file, a refused Python global, a pickled module (torch.save(model)), or a
/// dict holding no state dict.
TorchSaveContents read_torch_save(const std::string& path, const std::string& entry = "");

/// Writes `tensors` the way Python's torch.save(dict) does (zip format, pickle protocol 2, one storage per tensor),
/// atomically, plus `extra_records` (name -> bytes, e.g. kManifestRecord) that torch.load ignores. Python's
/// torch.load reads it (also with weights_only=True), as do read_torch_save and load_state_dict_file. Tensors are
/// written from the CPU, contiguous.
void write_torch_save(const StateDict& tensors, const std::string& path,
                      const std::map<std::string, std::string>& extra_records = {});

}  // namespace medssl::weights
