/** float32 values as little-endian bytes, the byte order of every format read and written here. */

/** Concatenates `arrays` into little-endian bytes. */
export function float32ToBytes(arrays: readonly Float32Array[]): Uint8Array {
  const total = arrays.reduce((n, a) => n + a.length, 0);
  const bytes = new Uint8Array(4 * total);
  const view = new DataView(bytes.buffer);
  let offset = 0;
  for (const array of arrays) {
    for (const v of array) {
      view.setFloat32(offset, v, true);
      offset += 4;
    }
  }
  return bytes;
}

/** `count` floats from little-endian `bytes`, starting `byteOffset` bytes in. */
export function bytesToFloat32(bytes: Uint8Array, byteOffset: number, count: number): Float32Array {
  if (byteOffset + 4 * count > bytes.length) {
    throw new Error(`needs ${byteOffset + 4 * count} bytes, have ${bytes.length}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = view.getFloat32(byteOffset + 4 * i, true);
  return out;
}
