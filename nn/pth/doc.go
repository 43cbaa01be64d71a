// Package pth reads PyTorch checkpoint files (torch.save) without Python: both serializations —
// the zip archive written since PyTorch 1.6 (a pickle, data.pkl, beside one file per storage) and
// the legacy stream written before (a magic-number pickle, a protocol pickle, a system-info pickle,
// the object's pickle, the list of storage keys, then each storage as a little-endian int64 element
// count followed by its bytes), which the published fast-neural-style weights use.
//
// Only what checkpoints need is understood: a restricted pickle machine (no code is ever run; only
// a fixed set of globals — OrderedDict, the torch storage types and the tensor rebuild functions —
// is accepted) that yields a state dict of named tensors. Every length and count read from the file
// is checked against the bytes actually present, so a malformed or hostile file is an error, never
// a crash or an unbounded allocation.
package pth
