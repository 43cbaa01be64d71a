// sharp + ONNX Runtime peer of the end-to-end scoring benchmark (bench/cmd/scorebench).
//
//   node score_sharp_ort.mjs MODEL.onnx IMAGES_DIR OUT.csv BATCH THREADS
//
// What a Node user writes: list the images, decode and resize each with sharp (libvips; shorter
// side to 256, then the centre 224×224 crop, as torchvision does), normalize with the ImageNet
// statistics into a CHW float32 batch, run ONNX Runtime (THREADS intra-op threads, all graph
// optimizations), softmax + top-5, one CSV line per image. The next batch is decoded while the
// current one is inferred. Prints one JSON object: images, seconds, images_per_s.
import fs from 'node:fs';
import path from 'node:path';
import ort from 'onnxruntime-node';
import sharp from 'sharp';

const [model, root, out, batchS, threadsS] = process.argv.slice(2);
if (!out) {
  console.error('usage: node score_sharp_ort.mjs MODEL.onnx IMAGES_DIR OUT.csv BATCH THREADS');
  process.exit(2);
}
const batch = Number(batchS ?? 8), threads = Number(threadsS ?? 2);
const mean = [0.485, 0.456, 0.406], std = [0.229, 0.224, 0.225];

function list(dir) {
  const files = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) files.push(...list(p));
    else if (e.isFile()) files.push(p);
  }
  return files;
}

async function load(file, dst, offset) {
  const { data, info } = await sharp(file).removeAlpha().toColourspace('srgb')
    .resize({ width: 256, height: 256, fit: 'outside' }).raw().toBuffer({ resolveWithObject: true });
  const left = Math.round((info.width - 224) / 2), top = Math.round((info.height - 224) / 2);
  const plane = 224 * 224;
  for (let y = 0; y < 224; y++) {
    for (let x = 0; x < 224; x++) {
      const s = ((top + y) * info.width + left + x) * info.channels;
      const d = offset + y * 224 + x;
      for (let c = 0; c < 3; c++) dst[d + c * plane] = (data[s + c] / 255 - mean[c]) / std[c];
    }
  }
}

async function loadBatch(files) {
  const x = new Float32Array(files.length * 3 * 224 * 224);
  await Promise.all(files.map((f, i) => load(f, x, i * 3 * 224 * 224)));
  return x;
}

const session = await ort.InferenceSession.create(model, {
  intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all',
});
const files = list(root);
const input = session.inputNames[0], output = session.outputNames[0];
const lines = ['path,label,score'];
const t0 = performance.now();
let next = loadBatch(files.slice(0, batch));
for (let i = 0; i < files.length; i += batch) {
  const names = files.slice(i, i + batch);
  const x = await next;
  if (i + batch < files.length) next = loadBatch(files.slice(i + batch, i + 2 * batch));
  const res = await session.run({ [input]: new ort.Tensor('float32', x, [names.length, 3, 224, 224]) });
  const y = res[output].data, k = y.length / names.length;
  for (let j = 0; j < names.length; j++) {
    const row = y.subarray(j * k, (j + 1) * k);
    let mx = -Infinity, arg = 0, sum = 0;
    for (let c = 0; c < k; c++) if (row[c] > mx) { mx = row[c]; arg = c; }
    for (let c = 0; c < k; c++) sum += Math.exp(row[c] - mx);
    lines.push(`${names[j]},${arg},${(1 / sum).toFixed(6)}`);
  }
}
fs.writeFileSync(out, lines.join('\n') + '\n');
const secs = (performance.now() - t0) / 1000;
console.log(JSON.stringify({ runtime: 'sharp+onnxruntime', images: files.length, seconds: secs, images_per_s: files.length / secs, batch, threads }));
