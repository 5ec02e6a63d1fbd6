/**
 * The kernel's GRU (resetAfter = false) against TensorFlow.js' GRU layer on
 * identical weights: forward values and every gradient.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_GRU_CONFIG, type GruConfig, type GruDims, Kernel, type KernelFlavour } from '../ts/index.js';
import { expectClose, expectRelClose } from './support/compare.js';
import { randomUniform } from './support/random.js';
import { type GruCase, runGru } from './support/run-gru.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function tfjsGru(dims: GruDims, config: GruConfig, data: GruCase) {
  const { batch: B, steps: T, input: I, units: H } = dims;
  const layer = tf.layers.gru({
    units: H,
    returnSequences: config.returnSequences,
    goBackwards: config.goBackwards,
    activation: config.activation as 'tanh',
    recurrentActivation: config.recurrentActivation as 'sigmoid',
    useBias: data.bias !== undefined,
  });
  const x = tf.variable(tf.tensor3d(data.x, [B, T, I]));
  const h0 = tf.variable(tf.tensor2d(data.initialState ?? new Float32Array(B * H), [B, H]));
  // The first apply builds the layer (with its initial-state input).
  tf.dispose(layer.apply(x, { initialState: [h0] }) as tf.Tensor);
  const weights: tf.Tensor[] = [
    tf.tensor2d(data.kernel, [I, 3 * H]),
    tf.tensor2d(data.recurrentKernel, [H, 3 * H]),
  ];
  if (data.bias) weights.push(tf.tensor1d(data.bias));
  layer.setWeights(weights);
  const params = layer.trainableWeights.map((w) => w.read() as tf.Variable);
  const upstream = tf.tensor(data.dOutput, config.returnSequences ? [B, T, H] : [B, H]);
  let output: Float32Array = new Float32Array();
  const { grads } = tf.variableGrads(() => {
    const y = layer.apply(x, { initialState: [h0] }) as tf.Tensor;
    output = y.dataSync() as Float32Array;
    return tf.sum(tf.mul(y, upstream)) as tf.Scalar;
  }, [x, h0, ...params]);
  const read = (v: tf.Variable) => grads[v.name]?.dataSync() as Float32Array;
  const result = {
    output,
    dX: read(x),
    dInitialState: read(h0),
    dKernel: read(params[0] as tf.Variable),
    dRecurrentKernel: read(params[1] as tf.Variable),
    dBias: data.bias ? read(params[2] as tf.Variable) : undefined,
  };
  tf.dispose([x, h0, upstream, ...weights, ...Object.values(grads)]);
  layer.dispose();
  return result;
}

function makeCase(dims: GruDims, config: GruConfig, seed: number, useBias = true): GruCase {
  const { batch: B, steps: T, input: I, units: H } = dims;
  return {
    kernel: randomUniform(seed, I * 3 * H, -0.5, 0.5),
    recurrentKernel: randomUniform(seed + 1, H * 3 * H, -0.5, 0.5),
    bias: useBias ? randomUniform(seed + 2, 3 * H, -0.2, 0.2) : undefined,
    x: randomUniform(seed + 3, B * T * I),
    initialState: randomUniform(seed + 4, B * H, -0.5, 0.5),
    dOutput: randomUniform(seed + 5, config.returnSequences ? B * T * H : B * H),
  };
}

const shapes: GruDims[] = [
  { batch: 2, steps: 5, input: 3, units: 4 },
  { batch: 3, steps: 7, input: 5, units: 9 },
  // T = 1 trips a TensorFlow.js gradient bug (unstack of one step); the
  // float64 reference test covers T = 1.
  { batch: 1, steps: 2, input: 1, units: 1 },
  { batch: 5, steps: 12, input: 6, units: 17 },
];

describe.each<KernelFlavour>(['simd', 'threads'])('GRU vs TensorFlow.js (%s kernel)', (flavour) => {
  let kernel: Kernel;
  beforeAll(async () => {
    kernel = await Kernel.load(flavour);
  });
  afterAll(() => {
    expect(kernel.live().tensors).toBe(0);
  });

  let seed = 100;
  for (const dims of shapes) {
    for (const goBackwards of [false, true]) {
      for (const returnSequences of [false, true]) {
        const config = { ...DEFAULT_GRU_CONFIG, goBackwards, returnSequences };
        seed += 10;
        const caseSeed = seed;
        it(`B${dims.batch} T${dims.steps} I${dims.input} H${dims.units} goBackwards=${goBackwards} returnSequences=${returnSequences}`, () => {
          const data = makeCase(dims, config, caseSeed);
          const ours = runGru(kernel, dims, config, data);
          const theirs = tfjsGru(dims, config, data);
          expectClose('output', ours.output, theirs.output, 2e-5);
          expectRelClose('dKernel', ours.dKernel, theirs.dKernel, 1e-3);
          expectRelClose('dRecurrentKernel', ours.dRecurrentKernel, theirs.dRecurrentKernel, 1e-3);
          expectRelClose('dBias', ours.dBias ?? [], theirs.dBias ?? [], 1e-3);
          expectRelClose('dX', ours.dX, theirs.dX, 1e-3);
          expectRelClose('dInitialState', ours.dInitialState, theirs.dInitialState, 1e-3);
        });
      }
    }
  }

  it('hardSigmoid gates, linear candidate and no bias match too', () => {
    const dims = { batch: 3, steps: 6, input: 4, units: 5 };
    for (const config of [
      { ...DEFAULT_GRU_CONFIG, recurrentActivation: 'hardSigmoid' as const, returnSequences: true },
      { ...DEFAULT_GRU_CONFIG, activation: 'linear' as const },
    ]) {
      const data = makeCase(dims, config, 7, config.activation === 'tanh');
      const ours = runGru(kernel, dims, config, data);
      const theirs = tfjsGru(dims, config, data);
      expectClose('output', ours.output, theirs.output, 2e-5);
      expectRelClose('dKernel', ours.dKernel, theirs.dKernel, 1e-3);
      expectRelClose('dRecurrentKernel', ours.dRecurrentKernel, theirs.dRecurrentKernel, 1e-3);
      expectRelClose('dX', ours.dX, theirs.dX, 1e-3);
    }
  });
});
