// Command scorebench measures end-to-end batch scoring (image files → labels on disk) of Sluice
// against the peer pipelines users would pick instead, on the same images, same model, same
// thread count, in one run (DESIGN.md §7):
//
//   - Sluice: scenarios/batchscoring (what `sluice score` runs), Parquet output;
//   - Sluice model-only: the same ONNX model on random input (bench.BenchInfer), the rate the
//     pipeline would reach if reading, decoding and writing were free, measured right before and
//     right after each end-to-end run (the mean of the two pairs with it);
//   - PyTorch + PIL (bench/peers/score_torch.py) and sharp + ONNX Runtime
//     (bench/peers/score_sharp_ort.mjs).
//
// It prints a table and the ratios: efficiency (Sluice end-to-end ÷ its paired model-only rate,
// best round; every round's goes to stderr) and Sluice ÷ the faster peer. Set-up and usage: bench/README.md ("End-to-end scoring").
//
//	go run ./bench/cmd/scorebench -images bench/data/images -model bench/models/resnet18_op13.onnx
package main
