/**
 * Weight constraints (Keras' MaxNorm, UnitNorm, MinMaxNorm, NonNeg on
 * kernels, recurrent kernels, biases and embeddings): each projection
 * against TensorFlow.js' `tf.constraints` on the same values; training
 * steps against TensorFlow.js with Keras' order (the update, then the
 * projection); frozen layers left alone; workers and a hosting worker as
 * this thread; files both ways, Keras 3's form too.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as gw from '../ts/index.js';
import { applyConstraint, checkConstraint } from '../ts/layers/constraints.js';
import { flatWeights, maxAbsDiff, weightsOf } from './support/compare.js';
import { randomUniform } from './support/random.js';
import { loadIntoTfjs, saveTfjsModel } from './support/tfjs-files.js';

const [N, T, V, E, H] = [6, 4, 7, 3, 5];
type TfConstraint = ReturnType<typeof tf.constraints.maxNorm>;
const dir = mkdtempSync(join(tmpdir(), 'gru-wasm-constraints-'));
const ids = Float32Array.from({ length: N * T }, (_, i) => (i * 3 + 1) % V);
const targets = Float32Array.from({ length: N }, (_, n) => n % 2);

beforeAll(async () => {
  await tf.setBackend('cpu');
  await gw.ready();
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Our projection of `values` (shape `shape`) by `constraint`, through the kernel. */
function projected(values: Float32Array, shape: number[], constraint: gw.Constraint): Float32Array {
  const k = gw.kernel();
  const ptr = k.alloc(values.length);
  try {
    k.view(ptr).set(values);
    const checked = checkConstraint(constraint, 'test') as NonNullable<ReturnType<typeof checkConstraint>>;
    applyConstraint(k, { name: 'w', shape, ptr, grad: ptr }, checked);
    return Float32Array.from(k.view(ptr));
  } finally {
    k.free(ptr);
  }
}

/** TensorFlow.js' projection of the same values. */
function theirProjection(values: Float32Array, shape: number[], constraint: TfConstraint): Float32Array {
  return tf.tidy(() => constraint.apply(tf.tensor(values, shape)).dataSync() as Float32Array);
}

/**
 * Embedding → GRU → Dense(1, sigmoid), every weight constrained (unless
 * `constrained` is false); the weights start outside the bounds, so the
 * first projections move them.
 */
function model({ workers = 0, kernel = gw.kernel(), constrained = true } = {}): gw.Sequential {
  gw.setRandomSeed(23);
  const c = <T>(value: T) => (constrained ? value : undefined);
  const m = new gw.Sequential(kernel);
  m.add(
    gw.layers.embedding({
      inputDim: V,
      outputDim: E,
      inputShape: [T],
      embeddingsInitializer: 'ones',
      embeddingsConstraint: c(gw.constraints.unitNorm({ axis: 1 })),
    }),
  );
  m.add(
    gw.layers.gru({
      units: H,
      kernelConstraint: c(gw.constraints.maxNorm({ maxValue: 0.6 })),
      recurrentConstraint: c(
        gw.constraints.minMaxNorm({ minValue: 0.5, maxValue: 0.8, rate: 0.5, axis: -1 }),
      ),
      biasConstraint: c(gw.constraints.nonNeg()),
    }),
  );
  m.add(
    gw.layers.dense({
      units: 1,
      activation: 'sigmoid',
      kernelConstraint: c(gw.constraints.maxNorm({ maxValue: 0.5, axis: [0, 1] })),
      biasConstraint: c(gw.constraints.maxNorm({ maxValue: 0.01 })),
    }),
  );
  m.compile({ optimizer: gw.optimizers.sgd({ learningRate: 0.5 }), loss: 'binaryCrossentropy', workers });
  // Negative biases for NonNeg to zero.
  const weights = m.getWeights();
  weights[3] = gw.tensor(randomUniform(4, 3 * H, -0.5, 0.5), [3 * H], { kernel });
  m.setWeights(weights);
  return m;
}

const data = (kernel = gw.kernel()) =>
  [gw.tensor(ids, [N, T], { kernel }), gw.tensor(targets, [N, 1], { kernel })] as const;

describe('weight constraints', () => {
  it('project as TensorFlow.js’ constraints do, for each kind and axis', () => {
    const cases: [number[], gw.Constraint, TfConstraint][] = [
      [[5, 6], gw.constraints.maxNorm({ maxValue: 1 }), tf.constraints.maxNorm({ maxValue: 1 })],
      [
        [5, 6],
        gw.constraints.maxNorm({ maxValue: 1, axis: 1 }),
        tf.constraints.maxNorm({ maxValue: 1, axis: 1 }),
      ],
      [[5, 9], gw.constraints.maxNorm({ axis: -1 }), tf.constraints.maxNorm({ axis: -1 })],
      [[7], gw.constraints.maxNorm({ maxValue: 0.5 }), tf.constraints.maxNorm({ maxValue: 0.5 })],
      [[5, 6], gw.constraints.unitNorm(), tf.constraints.unitNorm({})],
      [[2, 9], gw.constraints.unitNorm({ axis: 1 }), tf.constraints.unitNorm({ axis: 1 })],
      [
        [5, 6],
        gw.constraints.minMaxNorm({ minValue: 1.2, maxValue: 1.4, rate: 0.3 }),
        tf.constraints.minMaxNorm({ minValue: 1.2, maxValue: 1.4, rate: 0.3 }),
      ],
      [
        [4, 3],
        gw.constraints.minMaxNorm({ maxValue: 0.7, axis: 1 }),
        tf.constraints.minMaxNorm({ maxValue: 0.7, axis: 1 }),
      ],
      [[5, 6], gw.constraints.nonNeg(), tf.constraints.nonNeg()],
    ];
    for (const [i, [shape, ours, theirs]] of cases.entries()) {
      const values = randomUniform(
        100 + i,
        shape.reduce((a, b) => a * b, 1),
        -1.5,
        1.5,
      );
      const got = projected(values, shape, ours);
      const want = theirProjection(values, shape, theirs);
      expect(maxAbsDiff(got, want), `${JSON.stringify(ours)} on [${shape}]`).toBeLessThan(1e-6);
      // The bounds bite: every case moves some values.
      expect(maxAbsDiff(got, values), `${JSON.stringify(ours)} on [${shape}] moves`).toBeGreaterThan(1e-3);
    }
    // The whole matrix's norm ([0, 1]): one factor for every value.
    const values = randomUniform(7, 12, -1, 1);
    const norm = Math.hypot(...values);
    const got = projected(values, [3, 4], gw.constraints.maxNorm({ maxValue: 0.5, axis: [0, 1] }));
    expect(
      maxAbsDiff(
        got,
        values.map((v) => (v * 0.5) / (1e-7 + norm)),
      ),
    ).toBeLessThan(1e-6);
  });

  it('follow each update, as Keras’ optimizers apply them, against TensorFlow.js', async () => {
    const ours = model();
    // TensorFlow.js' fit leaves constraints out (tensorflow/tfjs#3345): its
    // model trains unconstrained, and the test projects its weights after
    // each step with TensorFlow.js' own constraints.
    const theirs = tf.sequential();
    theirs.add(tf.layers.embedding({ inputDim: V, outputDim: E, inputLength: T }));
    theirs.add(tf.layers.gru({ units: H, recurrentActivation: 'sigmoid' }));
    theirs.add(tf.layers.dense({ units: 1, activation: 'sigmoid' }));
    theirs.compile({ optimizer: tf.train.sgd(0.5), loss: 'binaryCrossentropy' });
    theirs.setWeights(ours.getWeights().map((w) => tf.tensor(w.dataSync(), [...w.shape])));
    const theirConstraints = [
      tf.constraints.unitNorm({ axis: 1 }),
      tf.constraints.maxNorm({ maxValue: 0.6 }),
      tf.constraints.minMaxNorm({ minValue: 0.5, maxValue: 0.8, rate: 0.5, axis: -1 }),
      tf.constraints.nonNeg(),
      undefined, // [0, 1]: TensorFlow.js' MaxNorm takes one axis; below in tf ops.
      tf.constraints.maxNorm({ maxValue: 0.01 }),
    ];
    const project = () =>
      theirs.setWeights(
        tf.tidy(() =>
          theirs.getWeights().map((w, i) => {
            const constraint = theirConstraints[i];
            if (constraint) return constraint.apply(w);
            const norm = tf.norm(w);
            return tf.mul(w, tf.div(tf.clipByValue(norm, 0, 0.5), tf.add(1e-7, norm)));
          }),
        ),
      );
    const [x, y] = data();
    const [tx, ty] = [tf.tensor2d(ids, [N, T]), tf.tensor2d(targets, [N, 1])];
    for (let step = 0; step < 3; step++) {
      const loss = await ours.trainOnBatch(x, y);
      const theirLoss = (await theirs.trainOnBatch(tx, ty)) as number;
      project();
      expect(Math.abs(loss - theirLoss), `step ${step}`).toBeLessThan(1e-5);
    }
    const theirWeights = theirs.getWeights().flatMap((w) => Array.from(w.dataSync()));
    expect(maxAbsDiff(flatWeights(ours), theirWeights)).toBeLessThan(1e-5);

    const [embeddings, kernel, , bias, dense, denseBias] = weightsOf(ours) as Float32Array[];
    const rowNorms = (w: Float32Array, cols: number) =>
      Array.from({ length: w.length / cols }, (_, r) => Math.hypot(...w.subarray(r * cols, (r + 1) * cols)));
    const colNorms = (w: Float32Array, cols: number) =>
      Array.from({ length: cols }, (_, c) => Math.hypot(...w.filter((_, i) => i % cols === c)));
    for (const n of rowNorms(embeddings as Float32Array, E)) expect(n).toBeCloseTo(1, 5);
    for (const n of colNorms(kernel as Float32Array, 3 * H)) expect(n).toBeLessThanOrEqual(0.6 + 1e-6);
    expect(Math.min(...(bias as Float32Array))).toBeGreaterThanOrEqual(0);
    expect((bias as Float32Array).some((b) => b === 0)).toBe(true);
    expect(Math.hypot(...(dense as Float32Array))).toBeLessThanOrEqual(0.5 + 1e-6);
    expect(Math.abs((denseBias as Float32Array)[0] as number)).toBeLessThanOrEqual(0.01 + 1e-9);
    // The constraints changed the training: without them the weights differ.
    const unconstrained = model({ constrained: false });
    for (let step = 0; step < 3; step++) await unconstrained.trainOnBatch(x, y);
    expect(maxAbsDiff(flatWeights(unconstrained), flatWeights(ours))).toBeGreaterThan(0.05);
    unconstrained.dispose();
    ours.dispose();
  });

  it('leave a frozen layer’s weights as they are, as Keras does', async () => {
    const m = model();
    m.getLayer(2).trainable = false;
    m.compile({ optimizer: gw.optimizers.sgd({ learningRate: 0.5 }), loss: 'binaryCrossentropy' });
    const before = weightsOf(m);
    await m.trainOnBatch(...data());
    const after = weightsOf(m);
    // The Dense kernel's norm is above its bound, and stays there.
    expect(Math.hypot(...(before[4] as Float32Array))).toBeGreaterThan(0.6);
    expect(Array.from(after[4] as Float32Array)).toEqual(Array.from(before[4] as Float32Array));
    expect(maxAbsDiff(after[1] as Float32Array, before[1] as Float32Array)).toBeGreaterThan(1e-3);
    m.dispose();
  });

  it('train on workers as on this thread; in a hosting worker bit for bit', async () => {
    const here = model();
    const there = model({ workers: 2 });
    await here.fit(...data(), { epochs: 2, batchSize: N, shuffle: false, verbose: 0 });
    await there.fit(...data(), { epochs: 2, batchSize: N, shuffle: false, verbose: 0 });
    expect(maxAbsDiff(flatWeights(there), flatWeights(here))).toBeLessThan(1e-5);
    here.dispose();
    there.dispose();

    const simd = await gw.Kernel.load('simd');
    const own = model({ kernel: simd });
    const hosted = model({ workers: 1, kernel: simd });
    await own.fit(...data(simd), { epochs: 2, batchSize: 3, seed: 5, verbose: 0 });
    await hosted.fit(...data(simd), { epochs: 2, batchSize: 3, seed: 5, verbose: 0 });
    expect(flatWeights(hosted)).toEqual(flatWeights(own));
    expect(Math.min(...(weightsOf(hosted)[3] as Float32Array))).toBeGreaterThanOrEqual(0);
    own.dispose();
    hosted.dispose();
  });

  it('are saved as TensorFlow.js writes them and read back, from TensorFlow.js and Keras 3 too', async () => {
    const ours = model();
    const target = join(dir, 'constrained');
    await ours.save(target);
    const loaded = await gw.loadModel(target);
    const gruLayer = loaded.getLayer(1) as gw.layers.Gru;
    expect(gruLayer.constraints).toEqual({
      kernel: { kind: 'maxNorm', maxValue: 0.6, axis: 0 },
      recurrent: { kind: 'minMaxNorm', minValue: 0.5, maxValue: 0.8, rate: 0.5, axis: -1 },
      bias: { kind: 'nonNeg' },
    });
    expect((loaded.getLayer(2) as gw.layers.Dense).constraints.kernel).toEqual({
      kind: 'maxNorm',
      maxValue: 0.5,
      axis: [0, 1],
    });
    const { model: inTfjs } = await loadIntoTfjs(target);
    const theirGru = inTfjs.layers[1]?.getConfig() as Record<string, unknown>;
    expect(theirGru.kernelConstraint).toEqual({ className: 'MaxNorm', config: { maxValue: 0.6, axis: 0 } });
    expect(theirGru.biasConstraint).toEqual({ className: 'NonNeg', config: {} });
    const theirEmbedding = inTfjs.layers[0]?.getConfig() as Record<string, unknown>;
    expect(theirEmbedding.embeddingsConstraint).toEqual({ className: 'UnitNorm', config: { axis: 1 } });

    // A model TensorFlow.js saved with constraints.
    const tfModel = tf.sequential();
    tfModel.add(
      tf.layers.dense({
        units: 3,
        inputShape: [4],
        kernelConstraint: tf.constraints.minMaxNorm({ minValue: 0.1, maxValue: 0.2, axis: 1 }),
        biasConstraint: tf.constraints.nonNeg(),
      }),
    );
    const fromTfjs = join(dir, 'from-tfjs');
    await saveTfjsModel(tfModel, fromTfjs);
    const read = await gw.loadModel(fromTfjs);
    expect((read.getLayer(0) as gw.layers.Dense).constraints).toEqual({
      kernel: { kind: 'minMaxNorm', minValue: 0.1, maxValue: 0.2, rate: 1, axis: 1 },
      bias: { kind: 'nonNeg' },
    });

    const json = JSON.parse(await readFile(join(target, 'model.json'), 'utf8'));
    const dense = json.modelTopology.config.layers[2].config;
    dense.kernel_constraint = {
      module: 'keras.constraints',
      class_name: 'MaxNorm',
      config: { max_value: 3, axis: 0 },
      registered_name: null,
    };
    await writeFile(join(target, 'model.json'), JSON.stringify(json));
    const keras3 = await gw.loadModel(target);
    expect((keras3.getLayer(2) as gw.layers.Dense).constraints.kernel).toEqual({
      kind: 'maxNorm',
      maxValue: 3,
      axis: 0,
    });

    dense.kernel_constraint = { class_name: 'RadialConstraint', config: {} };
    await writeFile(join(target, 'model.json'), JSON.stringify(json));
    await expect(gw.loadModel(target)).rejects.toThrow(
      /kernel_constraint\.class_name: only the MaxNorm, UnitNorm, MinMaxNorm and NonNeg constraints are supported, got "RadialConstraint"/,
    );
    dense.kernel_constraint = { class_name: 'MaxNorm', config: { max_value: 2, axis: 'rows' } };
    await writeFile(join(target, 'model.json'), JSON.stringify(json));
    await expect(gw.loadModel(target)).rejects.toThrow(
      /kernel_constraint\.config\.axis: expected an integer or a list of them, got "rows"/,
    );
    for (const m of [ours, loaded, read, keras3]) m.dispose();
    tfModel.dispose();
    inTfjs.dispose();
  });

  it('refuse bad arguments, naming the layer and field', () => {
    expect(() =>
      gw.layers.dense({ units: 1, kernelConstraint: gw.constraints.maxNorm({ maxValue: -1 }) }),
    ).toThrow(/kernelConstraint: maxNorm needs 0 ≤ minValue ≤ maxValue < ∞, got 0 and -1/);
    expect(() =>
      gw.layers.gru({ units: 2, biasConstraint: gw.constraints.minMaxNorm({ minValue: 2, maxValue: 1 }) }),
    ).toThrow(/biasConstraint: minMaxNorm needs 0 ≤ minValue ≤ maxValue < ∞, got 2 and 1/);
    expect(() =>
      gw.layers.dense({ units: 1, kernelConstraint: gw.constraints.minMaxNorm({ rate: 1.5 }) }),
    ).toThrow(/minMaxNorm rate must be within \[0, 1\], got 1.5/);
    expect(() =>
      gw.layers.dense({ units: 1, kernelConstraint: gw.constraints.unitNorm({ axis: [] }) }),
    ).toThrow(/unitNorm axis must be an integer or a non-empty list of them/);
    const bad = { kind: 'clip', min: 0 } as unknown as gw.Constraint;
    expect(() => gw.layers.dense({ units: 1, kernelConstraint: bad })).toThrow(
      /unknown constraint "clip" \(expected maxNorm, unitNorm, minMaxNorm, nonNeg\)/,
    );
    const extra = { kind: 'nonNeg', axis: 0 } as unknown as gw.Constraint;
    expect(() => gw.layers.dense({ units: 1, kernelConstraint: extra })).toThrow(
      /unknown nonNeg field 'axis'/,
    );
    // The axes are checked against the weight when the layer is built.
    const m = gw.sequential();
    expect(() =>
      m.add(
        gw.layers.dense({ units: 2, inputShape: [3], biasConstraint: gw.constraints.maxNorm({ axis: 1 }) }),
      ),
    ).toThrow(/layer dense_\d+: bias: maxNorm axis 1 is out of range for a weight of shape \[2\]/);
    m.dispose();
  });
});
