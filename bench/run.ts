/**
 * `npm run bench`:
 * 1. this machine's WebAssembly SIMD peak (a register-resident f32x4 loop);
 * 2. one GRU forward + backward (BPTT) of GRU(256) on B=64, T=100, I=32, in
 *    the wasm kernel and in the pure-JS baseline, after checking that both
 *    compute the same values;
 * 3. a training step of GRU(H) → Dense(1, sigmoid), BCE, Adam in gru-wasm (on
 *    this thread and on 2 kernel workers) and in TensorFlow.js (wasm and cpu
 *    backends), and inference, also by ONNX Runtime Web's GRU operator on 1
 *    and 2 threads, on the small, medium and large configs;
 * 4. the GEMM phases of each training step, against the SIMD peak and the
 *    GEMM micro-kernel loop measured here;
 * 5. the peak kernel memory of a training step, per config.
 * Results go to the terminal and to bench/results/<date>-<host>.json.
 *
 * FLOPs count the GRU's matrix products only: a forward is 2·B·T·3H·(I+H),
 * a forward + backward (a training step) three times that.
 *
 * Flags: --quick (every path once on tiny shapes, for CI smoke: not a
 * measurement), --batch, --steps, --input, --units (for part 2).
 */
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { type GruDims, Kernel, type KernelFlavour, ready, relaxedAvailable } from '../ts/index.js';
import { gruBackward, gruForward } from './baseline/gru.js';
import { gemmPhases, phaseFlop, timeGemmPhases } from './gemm.js';
import { KernelGruStep, makeData } from './gru-setup.js';
import { type Timing, table, time, timeInterleaved } from './harness.js';
import { OnnxProcess } from './onnx-process.js';
import { measureMicroKernel, measurePeak, measureStreamRead } from './peak.js';
import { type Config, gruWasmTimings, type SystemTimings, tfjsTimings } from './training.js';

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    batch: { type: 'string', default: '64' },
    steps: { type: 'string', default: '100' },
    input: { type: 'string', default: '32' },
    units: { type: 'string', default: '256' },
  },
});
const dims: GruDims = {
  batch: Number(flags.batch),
  steps: Number(flags.steps),
  input: Number(flags.input),
  units: Number(flags.units),
};
const quick = flags.quick;
const peak = await measurePeak();
const microKernel = await measureMicroKernel();
const relaxedHere = await relaxedAvailable();
const microKernelFused = relaxedHere ? await measureMicroKernel({ fused: true }) : undefined;
/** A build's name, as its directory under wasm/. */
const buildOf = (build: { flavour: KernelFlavour; relaxed: boolean }) =>
  `${build.flavour}${build.relaxed ? '-relaxed' : ''}`;
const forwardFlop = 2 * dims.batch * dims.steps * 3 * dims.units * (dims.input + dims.units);

const data = makeData(dims);

function maxRelDiff(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs((a[i] as number) - (b[i] as number)));
    scale = Math.max(scale, Math.abs(b[i] as number));
  }
  return diff / Math.max(scale, 1e-30);
}

/** Refuses to time two implementations that disagree. */
function checkAgreement(kernel: Kernel): void {
  const step = new KernelGruStep(kernel, dims, data);
  step.forward(true);
  step.backward();
  const fwd = gruForward(dims, data.weights, data.x);
  const grads = gruBackward(dims, data.weights, data.x, fwd, data.dOutput);
  const pairs: [string, number, Float32Array][] = [
    ['output', step.ptrs.output, fwd.output],
    ['dKernel', step.ptrs.dKernel, grads.kernel],
    ['dRecurrentKernel', step.ptrs.dRecurrentKernel, grads.recurrentKernel],
    ['dBias', step.ptrs.dBias, grads.bias],
    ['dX', step.ptrs.dX, grads.x],
  ];
  for (const [name, ptr, expected] of pairs) {
    const rel = maxRelDiff(kernel.download(ptr), expected);
    if (!(rel <= 1e-3)) throw new Error(`baseline and kernel disagree on ${name}: relative diff ${rel}`);
  }
  step.dispose();
}

interface Row {
  system: string;
  what: string;
  ms: number;
  spread: string;
  flop: number;
}

const rows: Row[] = [];
const reps = quick ? 1 : 10;
const warmup = quick ? 0 : 2;

// The builds, measured in alternation (which keeps the machine's drift out of
// the comparison): simd and threads run the same code; the relaxed-SIMD ones,
// where the runtime has relaxed SIMD (Node 22+; Node 20 with
// --experimental-wasm-relaxed-simd), fuse the GEMM's multiply-adds.
const builds: { flavour: KernelFlavour; relaxed: boolean }[] = [
  { flavour: 'simd', relaxed: false },
  { flavour: 'threads', relaxed: false },
  ...(relaxedHere
    ? [
        { flavour: 'simd' as const, relaxed: true },
        { flavour: 'threads' as const, relaxed: true },
      ]
    : []),
];
const steps: KernelGruStep[] = [];
for (const build of builds) {
  const kernel = await Kernel.load(build.flavour, { relaxed: build.relaxed });
  checkAgreement(kernel);
  steps.push(new KernelGruStep(kernel, dims, data));
}
const trainings = await timeInterleaved(
  steps.map((step) => async () => {
    step.forward(true);
    step.backward();
  }),
  { warmup, reps },
);
const inferences = await timeInterleaved(
  steps.map((step) => async () => step.forward(false)),
  { warmup, reps },
);
builds.forEach((build, i) => {
  const [train, infer] = [trainings[i] as Timing, inferences[i] as Timing];
  const label = `gru-wasm (${buildOf(build)} build, 1 thread)`;
  rows.push({
    system: label,
    what: 'forward + backward',
    ms: train.median,
    spread: `${train.min.toFixed(1)}–${train.max.toFixed(1)}`,
    flop: 3 * forwardFlop,
  });
  rows.push({
    system: label,
    what: 'forward (inference)',
    ms: infer.median,
    spread: `${infer.min.toFixed(1)}–${infer.max.toFixed(1)}`,
    flop: forwardFlop,
  });
});
for (const step of steps) step.dispose();

const baselineReps = quick ? 1 : 3;
const baseline = time(
  () => {
    const fwd = gruForward(dims, data.weights, data.x);
    gruBackward(dims, data.weights, data.x, fwd, data.dOutput);
  },
  { warmup: quick ? 0 : 1, reps: baselineReps },
);
rows.push({
  system: 'pure-JS baseline (bench/baseline)',
  what: 'forward + backward',
  ms: baseline.median,
  spread: `${baseline.min.toFixed(0)}–${baseline.max.toFixed(0)}`,
  flop: 3 * forwardFlop,
});

const baselineMs = baseline.median;
const gflops = (flop: number, ms: number) => flop / ms / 1e6;
const header = [
  'system',
  'pass',
  'ms (median)',
  'min–max',
  'samples/s',
  'GFLOP/s',
  '% of peak',
  '× baseline',
];
const body = rows.map((r) => [
  r.system,
  r.what,
  r.ms.toFixed(1),
  r.spread,
  ((dims.batch * 1000) / r.ms).toFixed(0),
  gflops(r.flop, r.ms).toFixed(1),
  ((100 * gflops(r.flop, r.ms)) / peak).toFixed(0),
  r.what === 'forward + backward' ? (baselineMs / r.ms).toFixed(1) : '',
]);
console.log(
  `GRU(${dims.units}) on B=${dims.batch}, T=${dims.steps}, I=${dims.input}; ${hostname()}, Node ${process.versions.node}, ${new Date().toISOString().slice(0, 10)}${quick ? ' (--quick: one repetition, not a measurement)' : ''}`,
);
console.log(`WebAssembly SIMD f32x4 mul+add peak on this machine (12 chains): ${peak.toFixed(1)} GFLOP/s`);
console.log(
  `GEMM micro-kernel loop (the 4×8 tile over L1-resident panels, hand-assembled): ${microKernel.toFixed(1)} GFLOP/s`,
);
if (microKernelFused !== undefined) {
  console.log(
    `the relaxed-SIMD builds' 6×8 tile, fused with f32x4.relaxed_madd: ${microKernelFused.toFixed(1)} GFLOP/s`,
  );
}
console.log(`kernel runs ${reps} timed repetitions after ${warmup} warm-up; the baseline ${baselineReps}.\n`);
console.log(table(header, body));

// Part 3: training steps and inference against TensorFlow.js.
const configs: Config[] = quick
  ? [{ name: 'tiny', batch: 4, steps: 5, input: 3, units: 8 }]
  : [
      { name: 'small', batch: 32, steps: 50, input: 16, units: 128 },
      { name: 'medium', batch: 64, steps: 100, input: 32, units: 256 },
      { name: 'large', batch: 128, steps: 100, input: 64, units: 512 },
    ];
interface SystemRow {
  config: Config;
  system: string;
  /** Threads computing (the calling thread's own bookkeeping aside). */
  threads: number;
  /** Inference-only systems have no `train`. */
  timings: Omit<SystemTimings, 'train'> & { train?: Timing };
}
const systemRows: SystemRow[] = [];
const WORKERS = 2;
// gru-wasm on the build this runtime loads by default (relaxed SIMD where it
// has it) and, when that is the relaxed one, on the plain build beside it.
const defaultKernel = await ready('threads');
const plainKernel = defaultKernel.relaxed ? await Kernel.load('threads', { relaxed: false }) : undefined;
const gruWasmVariants = [
  { name: 'gru-wasm (this thread)', threads: 1, kernel: defaultKernel, workers: 0 },
  { name: `gru-wasm (${WORKERS} workers)`, threads: WORKERS, kernel: defaultKernel, workers: WORKERS },
  ...(plainKernel
    ? [{ name: 'gru-wasm plain SIMD (this thread)', threads: 1, kernel: plainKernel, workers: 0 }]
    : []),
];
// ONNX Runtime Web, one process per thread count (see bench/onnx-process.ts).
const onnxProcesses = [1, WORKERS].map((threads) => OnnxProcess.start(threads));
for (const config of configs) {
  const small = config.name === 'small' || quick;
  const large = config.name === 'large';
  const repeat = (slow: number, fast: number) => ({
    warmup: quick ? 0 : 1,
    reps: quick ? 1 : small ? fast : slow,
  });
  // Measured in alternation: their ratios are the speedup of workers and of
  // the build, and (inference) gru-wasm's against ONNX Runtime's.
  for (const onnx of onnxProcesses) await onnx.open(config);
  const timings = await gruWasmTimings(config, gruWasmVariants, repeat(5, 10), onnxProcesses);
  gruWasmVariants.forEach(({ name, threads }, i) => {
    systemRows.push({ config, system: name, threads, timings: timings.variants[i] as SystemTimings });
  });
  onnxProcesses.forEach(({ threads }, i) => {
    systemRows.push({
      config,
      system: `ONNX Runtime Web (${threads} thread${threads > 1 ? 's' : ''})`,
      threads,
      timings: timings.peers[i] as SystemRow['timings'],
    });
  });
  systemRows.push({
    config,
    system: 'TensorFlow.js wasm (SIMD)',
    threads: 1,
    timings: await tfjsTimings(config, 'wasm', repeat(large ? 2 : 3, 5)),
  });
  // TensorFlow.js' cpu backend takes about 16 s per medium step here (some
  // 90 s for the row) and eight times that per large one: small and medium.
  if (!large) {
    systemRows.push({
      config,
      system: 'TensorFlow.js cpu',
      threads: 1,
      timings: await tfjsTimings(config, 'cpu', repeat(3, 3)),
    });
  }
}
await Promise.all(onnxProcesses.map((onnx) => onnx.close()));
const forwardFlopOf = (c: Config, batch = c.batch) => 2 * batch * c.steps * 3 * c.units * (c.input + c.units);
const label = (c: Config) => `${c.name} B${c.batch} T${c.steps} I${c.input} H${c.units}`;
const spread = (t: Timing) => `${t.min.toFixed(1)}–${t.max.toFixed(1)}`;
type Pick = (t: SystemRow['timings']) => Timing | undefined;
const ratio = (reference: SystemRow | undefined, r: SystemRow, pick: Pick) => {
  const [a, b] = [reference && pick(reference.timings), pick(r.timings)];
  return a && b ? (a.median / b.median).toFixed(2) : '';
};
const versus = (prefix: string) => (r: SystemRow, pick: Pick) =>
  ratio(
    systemRows.find((o) => o.config === r.config && o.system.startsWith(prefix)),
    r,
    pick,
  );
const versusTfWasm = versus('TensorFlow.js wasm');
const versusOneThread = versus('gru-wasm (this thread)');
/** Against ONNX Runtime on as many threads. */
const versusOnnx = (r: SystemRow, pick: Pick) =>
  ratio(
    systemRows.find(
      (o) => o.config === r.config && o.system.startsWith('ONNX Runtime') && o.threads === r.threads,
    ),
    r,
    pick,
  );

console.log(
  `\ngru-wasm runs this runtime's default build, ${buildOf(defaultKernel)}${plainKernel ? `; "plain SIMD" rows the ${buildOf(plainKernel)} build` : ''}.`,
);
console.log('\nTraining step: GRU(H) → Dense(1, sigmoid), binary cross-entropy, Adam (trainOnBatch)\n');
console.log(
  table(
    [
      'config',
      'system',
      'ms/step (median)',
      'min–max',
      'samples/s',
      'GFLOP/s',
      '% of peak',
      '× TF.js wasm',
      '× this thread',
    ],
    systemRows.flatMap((r) => {
      const { config: c } = r;
      const train = r.timings.train;
      if (!train) return [];
      const rate = gflops(3 * forwardFlopOf(c), train.median);
      return [
        [
          label(c),
          r.system,
          train.median.toFixed(1),
          spread(train),
          ((c.batch * 1000) / train.median).toFixed(0),
          rate.toFixed(2),
          ((100 * rate) / peak).toFixed(1),
          versusTfWasm(r, (x) => x.train),
          versusOneThread(r, (x) => x.train),
        ],
      ];
    }),
  ),
);
console.log('\nInference: predict on the batch, and on one sequence (latency)\n');
console.log(
  table(
    [
      'config',
      'system',
      'batch ms',
      'GFLOP/s',
      '× TF.js wasm',
      '× ONNX RT (same threads)',
      'one sequence ms',
      '× TF.js wasm',
    ],
    systemRows.map((r) => {
      const { config: c, timings: t } = r;
      return [
        label(c),
        r.system,
        t.predict.median.toFixed(2),
        gflops(forwardFlopOf(c), t.predict.median).toFixed(2),
        versusTfWasm(r, (x) => x.predict),
        versusOnnx(r, (x) => x.predict),
        t.latency.median.toFixed(2),
        versusTfWasm(r, (x) => x.latency),
      ];
    }),
  ),
);

// One sequence reads each recurrent weight once per step: the time to stream
// U (H×3H floats) from a buffer of its size, T times, is the floor of its latency.
const latencyFloors: { config: Config; bytes: number; gbPerSecond: number; ms: number }[] = [];
for (const config of configs) {
  const bytes = 4 * config.units * 3 * config.units;
  const gbPerSecond = await measureStreamRead(bytes);
  latencyFloors.push({ config, bytes, gbPerSecond, ms: (config.steps * bytes) / gbPerSecond / 1e6 });
}
console.log(
  `\nOne sequence's floor: T steps × reading U (H×3H floats) at this machine's one-thread streaming read from a buffer that size\n`,
);
console.log(
  table(
    ['config', 'U KiB', 'read GB/s', 'floor ms (T reads of U)'],
    latencyFloors.map((f) => [
      label(f.config),
      (f.bytes / 1024).toFixed(0),
      f.gbPerSecond.toFixed(1),
      f.ms.toFixed(2),
    ]),
  ),
);

// The GEMM phases of each training step, against the two ceilings. A ceiling
// is the best this machine showed: the micro-kernel loop (in the form the
// build runs) is measured again here, next to the phases (its speed drifts
// with the machine's load).
const gemmKernel = defaultKernel;
const microKernelBest = Math.max(
  (gemmKernel.relaxed ? microKernelFused : microKernel) ?? 0,
  await measureMicroKernel({ fused: gemmKernel.relaxed }),
);
const gemmRows = configs.map((config) => {
  const phases = timeGemmPhases(gemmKernel, config, quick ? 1 : 5);
  const ms = phases.reduce((sum, p) => sum + p.ms, 0);
  const flop = gemmPhases(config).reduce((sum, p) => sum + phaseFlop(p), 0);
  return { config, ms, flop, phases };
});
console.log(
  `\nGEMM phases of a training step (the GRU's matrix products as \`gemm\` calls, one thread, ${buildOf(gemmKernel)} build; see bench/gemm.ts); the micro-kernel loop at its best in this run: ${microKernelBest.toFixed(1)} GFLOP/s\n`,
);
console.log(
  table(
    ['config', 'GEMM ms/step', 'GFLOP/s', '% of peak', '% of micro-kernel loop'],
    gemmRows.map((g) => {
      const rate = gflops(g.flop, g.ms);
      return [
        label(g.config),
        g.ms.toFixed(1),
        rate.toFixed(1),
        ((100 * rate) / peak).toFixed(0),
        ((100 * rate) / microKernelBest).toFixed(0),
      ];
    }),
  ),
);
const largest = gemmRows[gemmRows.length - 1];
if (largest) {
  console.log(`\nPhases of ${label(largest.config)}:\n`);
  console.log(
    table(
      ['phase', 'm × k · k × n', 'ms', 'GFLOP/s'],
      largest.phases.map(({ phase: p, ms }) => [
        p.name,
        `${p.m}×${p.k}·${p.k}×${p.n}`,
        ms.toFixed(1),
        gflops(phaseFlop(p), ms).toFixed(1),
      ]),
    ),
  );
}

// Peak kernel memory of a training step, each config in a fresh process.
const memoryRows = configs.map((config) => {
  const output = execFileSync(
    process.execPath,
    ['--import', 'tsx', new URL('./memory.ts', import.meta.url).pathname, JSON.stringify(config)],
    { encoding: 'utf8' },
  );
  return {
    config,
    ...(JSON.parse(output) as { peakBytes: number; startBytes: number; neededBytes: number }),
  };
});
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
console.log('\nPeak kernel memory of a training step (gru-wasm, one thread)\n');
console.log(
  table(
    [
      'config',
      'peak MiB (all linear memory)',
      'at load',
      'needed MiB (weights, grads, Adam, cache, batch)',
      'peak / needed',
    ],
    memoryRows.map((m) => [
      label(m.config),
      mib(m.peakBytes),
      mib(m.startBytes),
      mib(m.neededBytes),
      (m.peakBytes / m.neededBytes).toFixed(2),
    ]),
  ),
);

if (!quick) {
  const date = new Date().toISOString().slice(0, 10);
  const file = new URL(`./results/${date}-${hostname()}.json`, import.meta.url);
  await mkdir(new URL('./results/', import.meta.url), { recursive: true });
  const record = {
    date: new Date().toISOString(),
    host: hostname(),
    node: process.versions.node,
    gruWasmBuild: buildOf(defaultKernel),
    peakGflops: peak,
    microKernelGflops: microKernelBest,
    microKernelMulAddGflops: microKernel,
    microKernelFusedGflops: microKernelFused,
    latencyFloors,
    gemmPhases: gemmRows.map((g) => ({ ...g, gflops: gflops(g.flop, g.ms) })),
    gruForwardBackward: { dims, rows: rows.map((r) => ({ ...r, gflops: gflops(r.flop, r.ms) })) },
    systems: systemRows.map((r) => ({
      ...r,
      trainGflops: r.timings.train && gflops(3 * forwardFlopOf(r.config), r.timings.train.median),
      predictGflops: gflops(forwardFlopOf(r.config), r.timings.predict.median),
    })),
    memory: memoryRows,
  };
  await writeFile(file, `${JSON.stringify(record, null, 1)}\n`);
  console.log(`\nresults written to ${file.pathname}`);
}
