"""Seeds for the torch.save fuzz targets, written by Python's own torch.save (the reference of the format).

usage: /usr/bin/python3 make_torch_save_seeds.py OUT_DIR
  OUT_DIR/torch_save_pickle/  data.pkl of zip-format files, and whole legacy-format files (fuzz_torch_save_pickle)
  OUT_DIR/weights_file/       whole zip and legacy files (fuzz_weights_file, full clang build only)
Exits 77 (CTest: skipped) when this Python has no torch.
"""
import argparse
import collections
import io
import os
import sys
import zipfile

try:
    import torch
except ImportError:
    sys.exit(77)


def main():
    out = sys.argv[1]
    pickles = os.path.join(out, "torch_save_pickle")
    files = os.path.join(out, "weights_file")
    for d in (pickles, files):
        os.makedirs(d, exist_ok=True)
        for name in os.listdir(d):
            os.remove(os.path.join(d, name))
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2), torch.nn.Flatten(),
                                torch.nn.Linear(2, 2))
    model(torch.randn(2, 1, 3, 3))
    sd = model.state_dict()
    base = torch.arange(12, dtype=torch.float64).reshape(3, 4)
    objects = {
        "ordered_dict": sd,
        "plain_dict": dict(sd),
        "parameters": model.state_dict(keep_vars=True),
        "checkpoint": {"epoch": 3, "args": argparse.Namespace(lr=0.1), "state_dict": sd,
                       "optimizer": {"lr": [0.1, 2 ** 40], "betas": (0.9, 0.999)}},
        "views": {"t": base.t(), "row": base[1], "strided": base[:, ::2], "empty": torch.zeros(0, 3),
                  "half": torch.ones(2, dtype=torch.float16), "flags": torch.tensor([True, False]),
                  "scalar": torch.tensor(7, dtype=torch.int64)},
        "module": model,
        "shared": collections.OrderedDict([("a", base), ("b", base[0])]),
    }
    for name, obj in objects.items():
        for protocol in (2, 4):
            buffer = io.BytesIO()
            torch.save(obj, buffer, pickle_protocol=protocol)
            data = buffer.getvalue()
            with open(os.path.join(files, f"{name}_p{protocol}.pt"), "wb") as f:
                f.write(data)
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                pkl = [n for n in z.namelist() if n.endswith("/data.pkl")][0]
                with open(os.path.join(pickles, f"{name}_p{protocol}.pkl"), "wb") as f:
                    f.write(z.read(pkl))
        if name != "module":
            buffer = io.BytesIO()
            torch.save(obj, buffer, _use_new_zipfile_serialization=False)
            for d in (pickles, files):
                with open(os.path.join(d, f"{name}_legacy.pt"), "wb") as f:
                    f.write(buffer.getvalue())


if __name__ == "__main__":
    main()
