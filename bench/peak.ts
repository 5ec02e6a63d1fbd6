/**
 * Ceilings of this machine's WebAssembly SIMD, each a loop assembled here
 * instruction by instruction:
 * - the mul+add peak: twelve independent `acc = acc·m + c` chains on f32x4,
 *   all in registers (twelve is the most V8 keeps in registers without
 *   spilling; see shared/docs/measurements.md);
 * - the GEMM micro-kernel loop: the tile a packed GEMM runs over panels that
 *   sit in L1 (per depth step two B vectors, then for each row a broadcast A
 *   value and two mul+adds into its two accumulators, constant offsets
 *   folded into the loads): 4×8 with separate multiplies and adds, the
 *   ceiling of the plain builds; 6×8 with `f32x4.relaxed_madd`, the
 *   relaxed-SIMD builds' (see crates/gru-core/src/gemm/kernel.rs). No GEMM
 *   built from the tile can beat its loop;
 * - streaming reads: the bytes per second one thread reads from a buffer of
 *   a given size (a GRU's recurrent kernel), which bounds a matrix–vector
 *   product, where every weight is read once per time step.
 */
import { f32Bytes, moduleWith, op, simd, sleb, V128 } from './wasm-asm.js';

const CHAINS = 12;

function peakModule(): Uint8Array<ArrayBuffer> {
  // Locals: 0 = iterations (param), 1..12 accumulators, 13 = m, 14 = c.
  const [m, c] = [CHAINS + 1, CHAINS + 2];
  const body: number[] = [1, CHAINS + 2, V128];
  body.push(op.f32Const, ...f32Bytes(0.999999), ...simd.f32x4Splat, op.localSet, m);
  body.push(op.f32Const, ...f32Bytes(1e-6), ...simd.f32x4Splat, op.localSet, c);
  body.push(op.loop, op.blockTypeEmpty);
  for (let i = 1; i <= CHAINS; i++) {
    body.push(
      op.localGet,
      i,
      op.localGet,
      m,
      ...simd.f32x4Mul,
      op.localGet,
      c,
      ...simd.f32x4Add,
      op.localSet,
      i,
    );
  }
  body.push(op.localGet, 0, op.i32Const, 1, op.i32Sub, op.localTee, 0, op.brIf, 0, op.end);
  body.push(op.localGet, 1, ...simd.f32x4ExtractLane0);
  return moduleWith(1, body);
}

/**
 * The best rate of several timed calls of `run` (after V8 has tiered the
 * loop up), in units of `workPerCall` per nanosecond: GFLOP/s for FLOPs,
 * GB/s for bytes.
 */
function bestOf(run: () => void, workPerCall: number): number {
  let best = 0;
  for (let round = 0; round < 12; round++) {
    const start = performance.now();
    run();
    const ms = performance.now() - start;
    best = Math.max(best, workPerCall / ms / 1e6);
  }
  return best;
}

export async function measurePeak(): Promise<number> {
  const instance = await WebAssembly.instantiate(await WebAssembly.compile(peakModule()));
  const run = instance.exports.run as (iterations: number) => number;
  const iterations = 2_000_000;
  return bestOf(() => run(iterations), iterations * CHAINS * 8);
}

/** Depth of the packed panels: A is DEPTH × rows floats, B DEPTH × 8 (8 KiB). */
const DEPTH = 256;

/** The tile's rows: the relaxed builds' 6 with fused multiply-adds, else 4. */
const tileRows = (fused: boolean) => (fused ? 6 : 4);

function microKernelModule(fused: boolean): Uint8Array<ArrayBuffer> {
  const rows = tileRows(fused);
  const bOffset = 4 * rows * DEPTH;
  // Params: 0 = repetitions. Locals: 1..2·rows accumulators c[row][half],
  // then the two B halves, the broadcast a, the A and B pointers, B's end.
  const accumulators = 2 * rows;
  const [b0, b1, a] = [accumulators + 1, accumulators + 2, accumulators + 3];
  const [pa, pb, end] = [a + 1, a + 2, a + 3];
  const body: number[] = [2, accumulators + 3, V128, 3, 0x7f];
  body.push(op.loop, op.blockTypeEmpty); // one repetition: the whole depth
  body.push(op.i32Const, ...sleb(0), op.localSet, pa);
  body.push(op.i32Const, ...sleb(bOffset), op.localSet, pb);
  body.push(op.i32Const, ...sleb(bOffset + 32 * DEPTH), op.localSet, end);
  body.push(op.loop, op.blockTypeEmpty); // one depth step
  body.push(op.localGet, pb, ...simd.load(0), op.localSet, b0);
  body.push(op.localGet, pb, ...simd.load(16), op.localSet, b1);
  for (let row = 0; row < rows; row++) {
    body.push(op.localGet, pa, ...simd.load32Splat(4 * row), op.localSet, a);
    for (const [half, b] of [
      [0, b0],
      [1, b1],
    ] as const) {
      const acc = 1 + 2 * row + half;
      if (fused) body.push(op.localGet, a, op.localGet, b, op.localGet, acc, ...simd.f32x4RelaxedMadd);
      else body.push(op.localGet, acc, op.localGet, a, op.localGet, b, ...simd.f32x4Mul, ...simd.f32x4Add);
      body.push(op.localSet, acc);
    }
  }
  body.push(op.localGet, pa, op.i32Const, ...sleb(4 * rows), op.i32Add, op.localSet, pa);
  body.push(op.localGet, pb, op.i32Const, ...sleb(32), op.i32Add, op.localTee, pb);
  body.push(op.localGet, end, op.i32Ne, op.brIf, 0, op.end);
  body.push(op.localGet, 0, op.i32Const, 1, op.i32Sub, op.localTee, 0, op.brIf, 0, op.end);
  // Every accumulator feeds the result, so none of the work is dead.
  body.push(op.localGet, 1);
  for (let acc = 2; acc <= accumulators; acc++) body.push(op.localGet, acc, ...simd.f32x4Add);
  body.push(...simd.f32x4ExtractLane0);
  return moduleWith(1, body, 1);
}

/**
 * GFLOP/s of the micro-kernel loop: 4×8 with separate multiplies and adds,
 * 6×8 `fused` (which needs a runtime with relaxed SIMD).
 */
export async function measureMicroKernel(options: { fused?: boolean } = {}): Promise<number> {
  const fused = options.fused ?? false;
  const rows = tileRows(fused);
  const module = await WebAssembly.compile(microKernelModule(fused));
  const instance = await WebAssembly.instantiate(module);
  const run = instance.exports.run as (repetitions: number) => number;
  const memory = new Float32Array((instance.exports.memory as WebAssembly.Memory).buffer);
  for (let i = 0; i < (rows + 8) * DEPTH; i++) memory[i] = 1e-3 * (i % 7);
  const repetitions = 4000;
  for (let i = 0; i < 20; i++) run(10); // tier the function up: V8 does not replace a running call
  return bestOf(() => run(repetitions), repetitions * DEPTH * rows * 16);
}

function streamModule(pages: number): Uint8Array<ArrayBuffer> {
  // Params: 0 = repetitions, 1 = bytes (a multiple of 128). Locals: 2..9
  // accumulators, 10 = pointer. Eight independent loads per 128 bytes.
  const pointer = 10;
  const body: number[] = [2, 8, V128, 1, 0x7f];
  body.push(op.loop, op.blockTypeEmpty); // one repetition: the whole buffer
  body.push(op.i32Const, ...sleb(0), op.localSet, pointer);
  body.push(op.loop, op.blockTypeEmpty);
  for (let i = 0; i < 8; i++) {
    body.push(
      op.localGet,
      2 + i,
      op.localGet,
      pointer,
      ...simd.load(16 * i),
      ...simd.f32x4Add,
      op.localSet,
      2 + i,
    );
  }
  body.push(op.localGet, pointer, op.i32Const, ...sleb(128), op.i32Add, op.localTee, pointer);
  body.push(op.localGet, 1, op.i32Ne, op.brIf, 0, op.end);
  body.push(op.localGet, 0, op.i32Const, 1, op.i32Sub, op.localTee, 0, op.brIf, 0, op.end);
  body.push(op.localGet, 2);
  for (let acc = 3; acc <= 9; acc++) body.push(op.localGet, acc, ...simd.f32x4Add);
  body.push(...simd.f32x4ExtractLane0);
  return moduleWith(2, body, pages);
}

/** GB/s one thread reads, again and again, from a buffer of `bytes` (rounded up to 128). */
export async function measureStreamRead(bytes: number): Promise<number> {
  const size = Math.ceil(bytes / 128) * 128;
  const module = await WebAssembly.compile(streamModule(Math.ceil(size / 65536)));
  const run = (await WebAssembly.instantiate(module)).exports.run as (
    repetitions: number,
    bytes: number,
  ) => number;
  for (let i = 0; i < 20; i++) run(1, size);
  const repetitions = Math.max(10, Math.round(2e8 / size));
  return bestOf(() => run(repetitions, size), repetitions * size);
}
