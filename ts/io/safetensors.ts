/**
 * Reading the safetensors format: an 8-byte little-endian header length, a
 * JSON header `{ name: { dtype, shape, data_offsets: [begin, end] } }`, then
 * the tensors' bytes. Everything is checked before it is used; only F32
 * tensors are read.
 */

import { bytesToFloat32, float32ToBytes } from './bytes.js';

export interface SafeTensor {
  shape: number[];
  values: Float32Array;
}

const MAX_HEADER = 100 * 1024 * 1024;

export function readSafetensors(bytes: Uint8Array, file = 'safetensors'): Map<string, SafeTensor> {
  if (bytes.length < 8) throw new Error(`${file}: ${bytes.length} bytes, too short for a safetensors header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength > MAX_HEADER || 8 + headerLength > bytes.length) {
    throw new Error(
      `${file}: header length ${headerLength} does not fit in the file's ${bytes.length} bytes`,
    );
  }
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
  } catch (cause) {
    throw new Error(`${file}: the header is not valid JSON`, { cause });
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new Error(`${file}: the header is not a JSON object`);
  }
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const tensors = new Map<string, SafeTensor>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const at = `${file}: tensor '${name}'`;
    if (typeof entry !== 'object' || entry === null) throw new Error(`${at}: not an object`);
    const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
    if (dtype !== 'F32') throw new Error(`${at}: dtype ${JSON.stringify(dtype)} is not supported (only F32)`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0 && d <= 2 ** 28)) {
      throw new Error(`${at}: bad shape ${JSON.stringify(shape)}`);
    }
    const count = shape.reduce((a: number, b: number) => a * b, 1);
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o) => Number.isInteger(o) && o >= 0) ||
      offsets[1] - offsets[0] !== 4 * count ||
      offsets[1] > dataLength
    ) {
      throw new Error(
        `${at}: data_offsets ${JSON.stringify(offsets)} do not hold ${count} floats within ${dataLength} data bytes`,
      );
    }
    const values = bytesToFloat32(bytes, dataStart + offsets[0], count);
    tensors.set(name, { shape: shape as number[], values });
  }
  return tensors;
}

/** Builds safetensors bytes (for tests and for exporting). */
export function writeSafetensors(tensors: ReadonlyMap<string, SafeTensor>): Uint8Array {
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const [name, t] of tensors) {
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + 4 * t.values.length] };
    offset += 4 * t.values.length;
  }
  let json = JSON.stringify(header);
  // The data that follows starts 8-byte aligned, as the format recommends.
  json += ' '.repeat((8 - ((8 + json.length) % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  out.set(float32ToBytes([...tensors.values()].map((t) => t.values)), 8 + headerBytes.length);
  return out;
}
