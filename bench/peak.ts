/**
 * This machine's WebAssembly SIMD mul+add peak: a register-resident loop of
 * twelve independent `acc = acc·m + c` chains on f32x4 (twelve is the most
 * V8 keeps in registers without spilling; see shared/docs/measurements.md),
 * assembled here byte by byte.
 */

const CHAINS = 12;

function peakModule(): Uint8Array<ArrayBuffer> {
  const op = {
    localGet: 0x20,
    localSet: 0x21,
    localTee: 0x22,
    i32Const: 0x41,
    i32Sub: 0x6b,
    f32Const: 0x43,
    loop: 0x03,
    brIf: 0x0d,
    end: 0x0b,
    simd: 0xfd,
  };
  const f32 = (v: number) => [...new Uint8Array(Float32Array.of(v).buffer)];
  const [m, c] = [CHAINS + 1, CHAINS + 2];
  const body: number[] = [
    1,
    CHAINS + 2,
    0x7b, // one group of locals: 14 × v128
    op.f32Const,
    ...f32(0.999999),
    op.simd,
    0x13,
    op.localSet,
    m, // f32x4.splat
    op.f32Const,
    ...f32(1e-6),
    op.simd,
    0x13,
    op.localSet,
    c,
    op.loop,
    0x40,
  ];
  for (let i = 1; i <= CHAINS; i++) {
    // acc_i = acc_i * m + c   (f32x4.mul = 0xe6 0x01, f32x4.add = 0xe4 0x01)
    body.push(
      op.localGet,
      i,
      op.localGet,
      m,
      op.simd,
      0xe6,
      0x01,
      op.localGet,
      c,
      op.simd,
      0xe4,
      0x01,
      op.localSet,
      i,
    );
  }
  body.push(op.localGet, 0, op.i32Const, 1, op.i32Sub, op.localTee, 0, op.brIf, 0, op.end);
  body.push(op.localGet, 1, op.simd, 0x1f, 0, op.end); // f32x4.extract_lane 0
  const section = (id: number, bytes: number[]) => [id, ...leb(bytes.length), ...bytes];
  const leb = (n: number) => {
    const out: number[] = [];
    do {
      let byte = n & 0x7f;
      n >>>= 7;
      if (n) byte |= 0x80;
      out.push(byte);
    } while (n);
    return out;
  };
  const name = [...new TextEncoder().encode('run')];
  return Uint8Array.from([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, [1, 0x60, 1, 0x7f, 1, 0x7d]), // (i32) -> f32
    ...section(3, [1, 0]),
    ...section(7, [1, name.length, ...name, 0x00, 0]),
    ...section(10, [1, ...leb(body.length), ...body]),
  ]);
}

/** GFLOP/s of the best of several timed calls (after V8 has tiered the loop up). */
export async function measurePeak(): Promise<number> {
  const instance = await WebAssembly.instantiate(await WebAssembly.compile(peakModule()));
  const run = instance.exports.run as (iterations: number) => number;
  const iterations = 2_000_000;
  let best = 0;
  for (let round = 0; round < 12; round++) {
    const start = performance.now();
    run(iterations);
    const ms = performance.now() - start;
    best = Math.max(best, (iterations * CHAINS * 8) / ms / 1e6);
  }
  return best;
}
