/**
 * The model loader under random damage: 10,000 mutations of a valid
 * model.json and its weights (bytes of the text, fields of the object tree,
 * prototype keys, absurd sizes, truncated or corrupt weights). Each load
 * either succeeds or throws an Error naming the file; none crashes, hangs or
 * leaks, and a clean load works afterwards.
 */
import { beforeAll, expect, it } from 'vitest';
import * as gw from '../ts/index.js';
import { Random } from '../ts/random.js';

const FILE = 'fuzz/model.json';
let json: string;
let weights: Uint8Array;

beforeAll(async () => {
  await gw.ready();
  gw.setRandomSeed(1);
  const model = gw.sequential();
  model.add(gw.layers.masking({ inputShape: [4, 3] }));
  model.add(gw.layers.bidirectional({ layer: gw.layers.gru({ units: 3, returnSequences: true }) }));
  model.add(gw.layers.gru({ units: 2, resetAfter: true }));
  model.add(gw.layers.dense({ units: 1, activation: 'sigmoid' }));
  const artifacts = gw.modelToArtifacts(model);
  json = JSON.stringify(artifacts.json);
  weights = artifacts.weightData;
  model.dispose();
});

const oddValues: unknown[] = [
  null,
  -1,
  0,
  1e12,
  2 ** 31,
  -0.5,
  'x',
  '',
  [],
  {},
  true,
  [null, 1e9, 1e9],
  { class_name: 'GRU' },
];

function mutateTree(value: unknown, random: Random, depth = 0): unknown {
  if (Array.isArray(value)) {
    if (value.length === 0 || random.next() < 0.15)
      return oddValues[Math.floor(random.next() * oddValues.length)];
    const i = Math.floor(random.next() * value.length);
    const copy = [...value];
    copy[i] = mutateTree(copy[i], random, depth + 1);
    return copy;
  }
  if (typeof value === 'object' && value !== null) {
    const keys = Object.keys(value);
    const roll = random.next();
    if (keys.length === 0 || roll < 0.1) return oddValues[Math.floor(random.next() * oddValues.length)];
    const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
    const key = keys[Math.floor(random.next() * keys.length)] as string;
    if (roll < 0.2) delete copy[key];
    else if (roll < 0.25)
      Object.defineProperty(copy, '__proto__', { value: { polluted: true }, enumerable: true });
    else if (roll < 0.3) {
      Object.defineProperty(copy, 'constructor', {
        value: { prototype: { polluted: true } },
        enumerable: true,
      });
    } else copy[key] = mutateTree(copy[key], random, depth + 1);
    return copy;
  }
  return oddValues[Math.floor(random.next() * oddValues.length)];
}

function mutateText(text: string, random: Random): string {
  const chars = [...text];
  const edits = 1 + Math.floor(random.next() * 4);
  for (let e = 0; e < edits; e++) {
    const i = Math.floor(random.next() * chars.length);
    const roll = random.next();
    if (roll < 0.4) chars[i] = String.fromCharCode(32 + Math.floor(random.next() * 95));
    else if (roll < 0.7) chars.splice(i, 1);
    else chars.splice(i, 0, '9');
  }
  return chars.join('');
}

function mutateWeights(bytes: Uint8Array, random: Random): Uint8Array {
  const roll = random.next();
  if (roll < 0.3) return bytes.subarray(0, Math.floor(random.next() * bytes.length));
  if (roll < 0.4) return new Uint8Array([...bytes, ...new Uint8Array(1 + Math.floor(random.next() * 16))]);
  const copy = new Uint8Array(bytes);
  for (let e = 0; e < 4; e++) copy[Math.floor(random.next() * copy.length)] = Math.floor(random.next() * 256);
  return copy;
}

it('survives 10,000 damaged files with clear errors and no leaks', () => {
  const random = new Random(2024);
  const baseline = gw.kernel().live();
  const outcomes = { loaded: 0, refused: 0, unparsable: 0 };
  for (let n = 0; n < 10_000; n++) {
    const kind = n % 3;
    let text = json;
    let data = weights;
    if (kind === 0) text = mutateText(json, random);
    else if (kind === 1) text = JSON.stringify(mutateTree(JSON.parse(json), random));
    else data = mutateWeights(weights, random);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      outcomes.unparsable += 1;
      continue;
    }
    try {
      gw.modelFromArtifacts(parsed, data, FILE).dispose();
      outcomes.loaded += 1;
    } catch (error) {
      expect(error).toBeInstanceOf(Error);
      const message = (error as Error).message;
      if (!message.startsWith(FILE))
        throw new Error(`case ${n}: an error that does not name the file: ${message}`);
      outcomes.refused += 1;
    }
  }
  console.log(`loader fuzz: ${JSON.stringify(outcomes)}`);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(gw.kernel().live()).toEqual(baseline);
  // Every kind of damage was exercised and most of it refused.
  expect(outcomes.loaded + outcomes.refused + outcomes.unparsable).toBe(10_000);
  expect(outcomes.refused).toBeGreaterThan(2500);
  expect(outcomes.unparsable).toBeGreaterThan(500);
  const clean = gw.modelFromArtifacts(JSON.parse(json), weights, FILE);
  expect(clean.countParams() * 4).toBe(weights.length);
  clean.dispose();
}, 120_000);
