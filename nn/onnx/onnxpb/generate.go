package onnxpb

//go:generate protoc --go_out=. --go_opt=paths=source_relative --go_opt=Monnx.proto=github.com/sluice-ml/sluice/nn/onnx/onnxpb --go_opt=Monnx-data.proto=github.com/sluice-ml/sluice/nn/onnx/onnxpb onnx.proto onnx-data.proto
