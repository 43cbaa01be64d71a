// ONNX Runtime peer for Sluice's benchmark harness (bench/README.md).
//
//   node ort_bench.mjs MODEL.onnx BATCH THREADS SECONDS [SIZE]
//
// Prints one JSON object (the fields of bench.InferResult). Same protocol
// as Sluice's side: random float32 input, 2 warm-up runs, then runs until
// SECONDS have passed (at least 3).
import ort from 'onnxruntime-node';
import path from 'node:path';

const [model, batchS, threadsS, secondsS, sizeS] = process.argv.slice(2);
if (!model) {
  console.error('usage: node ort_bench.mjs MODEL.onnx BATCH THREADS SECONDS [SIZE]');
  process.exit(2);
}
const batch = Number(batchS ?? 8), threads = Number(threadsS ?? 2);
const seconds = Number(secondsS ?? 5), size = Number(sizeS ?? 224);

// SLUICE_ORT_NO_SPIN=1 stops ORT's pool threads from spin-waiting
// (session.intra_op.allow_spinning=0): slower on an idle machine, faster on
// a loaded one, where spinning threads burn the CPU other work needs.
const opts = {
  intraOpNumThreads: threads,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
};
if (process.env.SLUICE_ORT_NO_SPIN === '1') {
  opts.extra = { session: { intra_op: { allow_spinning: '0' } } };
}
const session = await ort.InferenceSession.create(model, opts);
const name = session.inputNames[0];
const data = new Float32Array(batch * 3 * size * size);
let seed = 1;
for (let i = 0; i < data.length; i++) {
  seed = (seed * 1103515245 + 12345) >>> 0;
  data[i] = (seed / 4294967296) * 2 - 1;
}
const feeds = { [name]: new ort.Tensor('float32', data, [batch, 3, size, size]) };

const t0 = performance.now();
for (let i = 0; i < 2; i++) await session.run(feeds);
const warmup = (performance.now() - t0) / 1000;
const runs = [];
const cpu0 = process.cpuUsage();
const start = performance.now();
while (runs.length < 3 || performance.now() - start < seconds * 1000) {
  const t = performance.now();
  await session.run(feeds);
  runs.push((performance.now() - t) / 1000);
}
const total = (performance.now() - start) / 1000;
const cpu = process.cpuUsage(cpu0);
const cpuS = (cpu.user + cpu.system) / 1e6;
console.log(JSON.stringify({
  runtime: 'onnxruntime-node',
  model: path.basename(model, '.onnx'),
  batch, threads,
  images_per_s: batch * runs.length / total,
  best_images_per_s: batch / Math.min(...runs),
  cpu_images_per_s: cpuS > 0 ? batch * runs.length / (cpuS / threads) : 0,
  runs: runs.length,
  warmup_s: warmup,
  note: 'onnxruntime-node ' + (ort.env.versions?.common ?? '') + (opts.extra ? ', no spinning' : ''),
}));
