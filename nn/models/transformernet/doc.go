// Package transformernet builds the pytorch/examples fast-neural-style TransformerNet
// (fast_neural_style/neural_style/transformer_net.py) from a .pth state dict, without Python,
// as an nn/graph graph that nn/cpu runs.
//
// The architecture is fixed by the original: three ConvLayers (reflection pad, convolution; the
// 2nd and 3rd with stride 2) each followed by an affine InstanceNorm2d and ReLU, five residual
// blocks (ConvLayer, InstanceNorm, ReLU, ConvLayer, InstanceNorm, plus the block's input), two
// UpsampleConvLayers (nearest ×2, reflection pad, convolution) each followed by InstanceNorm and
// ReLU, and a last ConvLayer. Channel counts and kernel sizes are read from the weights and
// checked against each other, so a state dict of another network is an error naming the key,
// never a wrong graph.
//
// The graph has one input "input" (N×3×H×W float32, pixel values in 0–255, as the original's
// stylize feeds) and one output "output" of the same layout; H and W are dynamic. The output
// is H×W when both are multiples of 4 (otherwise the strided convolutions round the size down
// and the upsampling doubles it back, as in PyTorch).
//
// Load reads a checkpoint file in either torch serialization (nn/pth), drops the stale
// InstanceNorm running_mean/running_var keys that checkpoints saved before PyTorch 0.4 carry (as
// neural_style.py does), and builds the graph. Errors wrap ErrStateDict.
package transformernet
