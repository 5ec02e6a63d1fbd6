/**
 * ONNX Runtime Web's GRU operator, an inference anchor for the bench: a
 * one-node ONNX graph (GRU, `linear_before_reset = 0`, which is Keras'
 * `resetAfter: false`; gates z, r, h as in Keras), built with onnx-proto and
 * run by onnxruntime-web's WebAssembly backend on 1 or more threads. Its
 * final state is checked against gru-wasm's on the same weights and inputs
 * before anything is timed.
 */
// onnx-proto is CommonJS whose one export Node cannot name statically.
import onnxProto, { type onnx as Onnx } from 'onnx-proto';
import * as ort from 'onnxruntime-web';
import * as gw from '../ts/index.js';
import { type Config, uniform } from './training.js';

const { onnx } = onnxProto;

const FLOAT = onnx.TensorProto.DataType.FLOAT;

function initializer(name: string, dims: number[], values: Float32Array): Onnx.ITensorProto {
  return {
    name,
    dims,
    dataType: FLOAT,
    rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength),
  };
}

function valueInfo(name: string, dims: (number | string)[]): Onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

/** Weights in ONNX's layout: W [1, 3H, I], R [1, 3H, H], B [1, 6H] (input then recurrent biases). */
function weights(c: Config) {
  const h3 = 3 * c.units;
  const scale = (values: Float32Array, s: number) => values.map((v) => v * s);
  return {
    w: scale(uniform(11, h3 * c.input), 0.5),
    r: scale(uniform(12, h3 * c.units), 0.2),
    b: scale(uniform(13, 2 * h3), 0.2),
  };
}

function modelBytes(c: Config, w: ReturnType<typeof weights>): Uint8Array {
  const h3 = 3 * c.units;
  const graph: Onnx.IGraphProto = {
    name: 'gru',
    node: [
      {
        opType: 'GRU',
        input: ['X', 'W', 'R', 'B'],
        output: ['', 'Y_h'],
        attribute: [
          { name: 'hidden_size', type: onnx.AttributeProto.AttributeType.INT, i: c.units },
          { name: 'linear_before_reset', type: onnx.AttributeProto.AttributeType.INT, i: 0 },
        ],
      },
    ],
    initializer: [
      initializer('W', [1, h3, c.input], w.w),
      initializer('R', [1, h3, c.units], w.r),
      initializer('B', [1, 2 * h3], w.b),
    ],
    input: [valueInfo('X', [c.steps, 'batch', c.input])],
    output: [valueInfo('Y_h', [1, 'batch', c.units])],
  };
  return onnx.ModelProto.encode({ irVersion: 8, opsetImport: [{ domain: '', version: 14 }], graph }).finish();
}

/** `[rows, cols]` → `[cols, rows]`. */
function transpose(values: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = values[i * cols + j];
  return out;
}

/** Throws unless ONNX Runtime's final state equals gru-wasm's on the same weights (≤ 1e-4). */
async function checkAgreement(session: ort.InferenceSession, c: Config, w: ReturnType<typeof weights>) {
  const rows = 3;
  const xBti = uniform(14, rows * c.steps * c.input);
  // ONNX wants [T, B, I].
  const xTbi = new Float32Array(xBti.length);
  for (let b = 0; b < rows; b++)
    for (let t = 0; t < c.steps; t++)
      xTbi.set(
        xBti.subarray((b * c.steps + t) * c.input, (b * c.steps + t + 1) * c.input),
        (t * rows + b) * c.input,
      );
  const result = await session.run({ X: new ort.Tensor('float32', xTbi, [c.steps, rows, c.input]) });
  const theirs = (result.Y_h as ort.Tensor).data as Float32Array;

  const model = gw.sequential();
  model.add(
    gw.layers.gru({ units: c.units, inputShape: [c.steps, c.input], recurrentActivation: 'sigmoid' }),
  );
  const h3 = 3 * c.units;
  const bias = w.b.subarray(0, h3).map((v, i) => v + (w.b[h3 + i] as number));
  model.setWeights([transpose(w.w, h3, c.input), transpose(w.r, h3, c.units), bias]);
  const x = gw.tensor(xBti, [rows, c.steps, c.input]);
  const ours = await model.predict(x);
  const mine = ours.dataSync();
  let worst = 0;
  mine.forEach((v, i) => {
    worst = Math.max(worst, Math.abs(v - (theirs[i] as number)));
  });
  for (const t of [x, ours]) t.dispose();
  model.dispose();
  if (!(worst <= 1e-4)) throw new Error(`ONNX Runtime and gru-wasm disagree: max |diff| ${worst}`);
}

/**
 * ONNX Runtime Web's GRU on `threads` threads for config `c`, checked against
 * gru-wasm; `time` runs one batch or one sequence and returns its
 * milliseconds. onnxruntime-web takes its thread count from the first
 * session of the process (see bench/onnx-process.ts).
 */
export async function onnxSession(c: Config, threads: number) {
  await gw.ready('threads'); // the agreement check builds a gru-wasm model
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.simd = true;
  const w = weights(c);
  const session = await ort.InferenceSession.create(modelBytes(c, w), { executionProviders: ['wasm'] });
  try {
    await checkAgreement(session, c, w);
  } catch (error) {
    await session.release();
    throw error;
  }
  const inputs = {
    predict: new ort.Tensor('float32', uniform(1, c.steps * c.batch * c.input), [c.steps, c.batch, c.input]),
    latency: new ort.Tensor('float32', uniform(1, c.steps * c.input), [c.steps, 1, c.input]),
  };
  return {
    async time(what: 'predict' | 'latency'): Promise<number> {
      const start = performance.now();
      await session.run({ X: inputs[what] });
      return performance.now() - start;
    },
    release: () => session.release(),
  };
}
