#!/usr/bin/env node
// The comparison side of `make bench`: times one model in ONNX Runtime's CPU library
// (onnxruntime-node, installed into bench/node_modules) and prints one JSON line with
// the same fields as `onyx bench --json`.
//
//   node bench/ort_bench.js MODEL [-i NAME=FILE.npy]... [--threads N] [--iters K] [--warmup W]
//                           [--warm-env MODEL0] [--dump DIR] [--profile PREFIX] [--optimized FILE]
//   node bench/ort_bench.js --baseline   load the library and exit (its peak RSS is
//                                        subtracted from the benchmark's)
// --warm-env opens MODEL0 (a one-node model) first, so that load_ms counts the model's own
// session creation and env_ms the runtime's one-off set-up in this process.
// --dump writes the outputs of the last run as DIR/NAME.npy (to check them against onyx).
// --profile writes the runtime's per-node trace (PREFIX_<date>.json; bench/ort_profile.py
// sums it by op type, to set beside `onyx bench --profile`); --optimized saves the graph
// as the runtime rewrote it.
'use strict';

const fs = require('fs');
const path = require('path');

function loadOrt() {
  // bench/node_modules first, so the script works from any working directory
  try {
    return require(path.join(__dirname, 'node_modules', 'onnxruntime-node'));
  } catch (e) {
    return require('onnxruntime-node');
  }
}

function fail(msg) {
  process.stderr.write(`ort_bench: ${msg}\n`);
  process.exit(1);
}

// .npy (versions 1-3), little-endian or byte-order-free dtypes, C order
const NPY_TYPES = {
  '<f4': ['float32', Float32Array], '<f8': ['float64', Float64Array],
  '<i8': ['int64', BigInt64Array], '<i4': ['int32', Int32Array], '<i2': ['int16', Int16Array],
  '|i1': ['int8', Int8Array], '<u8': ['uint64', BigUint64Array], '<u4': ['uint32', Uint32Array],
  '<u2': ['uint16', Uint16Array], '|u1': ['uint8', Uint8Array], '|b1': ['bool', Uint8Array],
  '<f2': ['float16', Uint16Array],
};

function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.length < 10 || buf.readUInt8(0) !== 0x93 || buf.toString('latin1', 1, 6) !== 'NUMPY')
    fail(`${file}: not a .npy file`);
  const major = buf.readUInt8(6);
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const hstart = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', hstart, hstart + hlen);
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header);
  const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(header);
  if (!descr || !fortran || !shape) fail(`${file}: unreadable .npy header`);
  if (fortran[1] === 'True') fail(`${file}: Fortran-order arrays are not supported`);
  const t = NPY_TYPES[descr[1]];
  if (!t) fail(`${file}: dtype ${descr[1]} is not supported`);
  const dims = shape[1].split(',').map((s) => s.trim()).filter((s) => s.length).map(Number);
  const count = dims.reduce((a, b) => a * b, 1);
  const off = hstart + hlen;
  const Ctor = t[1];
  if (buf.length - off < count * Ctor.BYTES_PER_ELEMENT) fail(`${file}: data is shorter than its shape`);
  // copy into a fresh, aligned buffer: typed arrays need an offset that is a multiple of the element size
  const data = new Ctor(count);
  new Uint8Array(data.buffer).set(buf.subarray(off, off + count * Ctor.BYTES_PER_ELEMENT));
  return { type: t[0], data: t[0] === 'bool' ? new Uint8Array(data.buffer) : data, dims };
}

function writeNpy(file, tensor) {
  const descr = Object.keys(NPY_TYPES).find((k) => NPY_TYPES[k][0] === tensor.type);
  if (!descr) fail(`cannot write an output of type ${tensor.type}`);
  const dims = tensor.dims.map(Number);
  const shape = dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const pre = Buffer.alloc(10);
  pre.writeUInt8(0x93, 0);
  pre.write('NUMPY', 1, 'latin1');
  pre.writeUInt8(1, 6);
  pre.writeUInt8(0, 7);
  pre.writeUInt16LE(header.length, 8);
  const d = tensor.data;
  fs.writeFileSync(file, Buffer.concat([pre, Buffer.from(header, 'latin1'),
    Buffer.from(d.buffer, d.byteOffset, d.byteLength)]));
}

function parseArgs(argv) {
  const a = { model: null, inputs: [], threads: 1, iters: 50, warmup: 5, baseline: false, warmEnv: null,
    dump: null, profile: null, optimized: null };
  for (let i = 0; i < argv.length; i++) {
    const s = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) fail(`${s} needs a value`);
      return argv[++i];
    };
    const int = (min) => {
      const v = val();
      if (!/^\d+$/.test(v) || Number(v) < min) fail(`${s}: '${v}' is not an integer >= ${min}`);
      return Number(v);
    };
    if (s === '-i') {
      const v = val();
      const eq = v.indexOf('=');
      if (eq <= 0) fail(`-i expects NAME=FILE, got '${v}'`);
      a.inputs.push([v.slice(0, eq), v.slice(eq + 1)]);
    } else if (s === '--threads') a.threads = int(1);
    else if (s === '--iters') a.iters = int(1);
    else if (s === '--warmup') a.warmup = int(0);
    else if (s === '--baseline') a.baseline = true;
    else if (s === '--warm-env') a.warmEnv = val();
    else if (s === '--dump') a.dump = val();
    else if (s === '--profile') a.profile = val();
    else if (s === '--optimized') a.optimized = val();
    else if (s.startsWith('-')) fail(`unknown option '${s}'`);
    else if (!a.model) a.model = s;
    else fail(`unexpected argument '${s}'`);
  }
  return a;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const ort = loadOrt();
  if (args.baseline) {
    // touch the native binding so its library is mapped, as in a real run
    new ort.Tensor('float32', new Float32Array(1), [1]);
    console.log(JSON.stringify({ baseline: true, version: require(path.join(__dirname, 'node_modules',
      'onnxruntime-node', 'package.json')).version }));
    return;
  }
  if (!args.model) fail('usage: ort_bench.js MODEL [-i NAME=FILE.npy]... [--threads N] [--iters K] [--warmup W]');
  const feeds = {};
  for (const [name, file] of args.inputs) {
    const t = readNpy(file);
    feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
  }
  const sessionOptions = {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: args.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
  };
  let envMs = 0;
  if (args.warmEnv) {
    const e0 = performance.now();
    const warm = await ort.InferenceSession.create(args.warmEnv, { ...sessionOptions });
    envMs = performance.now() - e0;
    await warm.release();
  }
  if (args.profile) Object.assign(sessionOptions, { enableProfiling: true, profileFilePrefix: args.profile });
  if (args.optimized) sessionOptions.optimizedModelFilePath = args.optimized;
  const t0 = performance.now();
  const session = await ort.InferenceSession.create(args.model, sessionOptions);
  const loadMs = performance.now() - t0;
  for (const name of session.inputNames)
    if (!(name in feeds)) fail(`no -i given for model input '${name}'`);
  const ms = [];
  for (let r = 0; r < args.warmup + args.iters; r++) {
    const a = performance.now();
    const out = await session.run(feeds);
    const dt = performance.now() - a;
    if (r >= args.warmup) ms.push(dt);
    const last = r === args.warmup + args.iters - 1;
    if (last && args.dump) {
      fs.mkdirSync(args.dump, { recursive: true });
      for (const k of Object.keys(out)) writeNpy(path.join(args.dump, `${k.replace(/[^A-Za-z0-9._-]/g, '_')}.npy`), out[k]);
    }
    for (const k of Object.keys(out)) if (out[k].dispose) out[k].dispose();
  }
  ms.sort((x, y) => x - y);
  const n = ms.length;
  const med = n % 2 ? ms[(n - 1) / 2] : 0.5 * (ms[n / 2 - 1] + ms[n / 2]);
  const r4 = (x) => Math.round(x * 1e4) / 1e4;
  console.log(JSON.stringify({
    model: args.model, threads: args.threads, median_ms: r4(med), min_ms: r4(ms[0]),
    max_ms: r4(ms[n - 1]), load_ms: r4(loadMs), env_ms: r4(envMs),
  }));
  if (args.profile) session.endProfiling();
  await session.release();
}

main().catch((e) => fail(e && e.message ? e.message : String(e)));
