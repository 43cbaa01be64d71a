#!/usr/bin/python3
"""Writes the checkpoint fixtures of nn/pth in both PyTorch serializations, with the expected
values as JSON. Run with Debian's python3 (python3-torch): /usr/bin/python3 gen_fixtures.py"""
import collections, json, os
import torch

torch.manual_seed(7)
here = os.path.dirname(os.path.abspath(__file__))

base = torch.randn(4, 6)
sd = collections.OrderedDict()
sd["conv1.conv2d.weight"] = torch.randn(2, 3, 3, 3)
sd["conv1.conv2d.bias"] = torch.randn(2)
sd["in1.weight"] = torch.rand(2)
sd["in1.running_mean"] = torch.zeros(2)          # stale InstanceNorm stats, as in old checkpoints
sd["in1.running_var"] = torch.ones(2)
sd["transposed"] = base.t()                       # non-contiguous: strides (1, 6)
sd["row_view"] = base[1:3]                        # shares base's storage at an offset
sd["double"] = torch.randn(5, dtype=torch.float64)
sd["half"] = torch.tensor([0.5, -2.0, 65504.0, 6e-8], dtype=torch.float16)
sd["bn.num_batches_tracked"] = torch.tensor(12345, dtype=torch.int64)
sd["empty"] = torch.zeros(0, 3)
sd["expanded"] = torch.arange(3, dtype=torch.float32).expand(2, 3)   # stride 0

torch.save(sd, os.path.join(here, "small_zip.pth"))
torch.save(sd, os.path.join(here, "small_legacy.pth"), _use_new_zipfile_serialization=False)
torch.save({"epoch": 3, "state_dict": sd}, os.path.join(here, "nested_zip.pth"))

expected = collections.OrderedDict()
for k, v in sd.items():
    expected[k] = {"shape": list(v.shape), "values": [float(x) for x in v.float().contiguous().reshape(-1).tolist()]}
with open(os.path.join(here, "expected.json"), "w") as f:
    json.dump(expected, f, indent=1)
