// Package onnxpb holds the Go code protoc-gen-go generates from the official
// onnx.proto and onnx-data.proto (ONNX 1.12, copied from Debian's
// python3-onnx package, /usr/lib/python3/dist-packages/onnx/, Apache-2.0;
// onnx-data.proto's import changed from "onnx/onnx-ml.proto" to
// "onnx.proto"). onnx-data.proto holds SequenceProto, OptionalProto and
// MapProto, the formats of non-tensor values in the backend test data.
//
// Regenerate with: apt-get install -y protobuf-compiler;
// go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12; go generate ./nn/onnx/onnxpb
package onnxpb
