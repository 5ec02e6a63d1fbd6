/**
 * Just enough of a WebAssembly assembler for the bench's probe loops: the
 * opcodes they use and a one-function module around a body, so each probe
 * is an exact instruction sequence, whatever a compiler would make of it.
 */

export const op = {
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  i32Const: 0x41,
  i32Ne: 0x47,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  f32Const: 0x43,
  loop: 0x03,
  blockTypeEmpty: 0x40,
  brIf: 0x0d,
  end: 0x0b,
} as const;

/** SIMD instructions (the 0xfd prefix and their LEB-encoded numbers). */
export const simd = {
  /** `v128.load` with 16-byte alignment and a constant byte offset. */
  load: (offset: number) => [0xfd, 0x00, 4, ...leb(offset)],
  /** `v128.load32_splat` with 4-byte alignment and a constant byte offset. */
  load32Splat: (offset: number) => [0xfd, 0x09, 2, ...leb(offset)],
  f32x4Splat: [0xfd, 0x13],
  f32x4ExtractLane0: [0xfd, 0x1f, 0],
  f32x4Add: [0xfd, 0xe4, 0x01],
  f32x4Mul: [0xfd, 0xe6, 0x01],
  /** Relaxed SIMD's `f32x4.relaxed_madd` (a·b + c, fused where the machine has FMA). */
  f32x4RelaxedMadd: [0xfd, 0x85, 0x02],
} as const;

/** Unsigned LEB128. */
export function leb(value: number): number[] {
  const out: number[] = [];
  let n = value;
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n) byte |= 0x80;
    out.push(byte);
  } while (n);
  return out;
}

/** Signed LEB128 (for `i32.const`). */
export function sleb(value: number): number[] {
  const out: number[] = [];
  let n = value | 0;
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    const done = (n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

export const f32Bytes = (value: number): number[] => [...new Uint8Array(Float32Array.of(value).buffer)];

const I32 = 0x7f;
const F32 = 0x7d;
export const V128 = 0x7b;

/**
 * A module exporting one function `run(i32 × params) -> f32` with `body`
 * (its local declarations first, then its code, without the final `end`),
 * and, with `memoryPages`, a memory exported as `memory`.
 */
export function moduleWith(
  params: number,
  body: readonly number[],
  memoryPages = 0,
): Uint8Array<ArrayBuffer> {
  const section = (id: number, bytes: number[]) => [id, ...leb(bytes.length), ...bytes];
  const name = (text: string) => {
    const bytes = [...new TextEncoder().encode(text)];
    return [bytes.length, ...bytes];
  };
  const code = [...body, op.end];
  const exports = [[...name('run'), 0x00, 0], ...(memoryPages ? [[...name('memory'), 0x02, 0]] : [])];
  return Uint8Array.from([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, [1, 0x60, params, ...Array<number>(params).fill(I32), 1, F32]),
    ...section(3, [1, 0]),
    ...(memoryPages ? section(5, [1, 0x00, ...leb(memoryPages)]) : []),
    ...section(7, [exports.length, ...exports.flat()]),
    ...section(10, [1, ...leb(code.length), ...code]),
  ]);
}
