/**
 * Model files in the TensorFlow.js layers format: round trips, both ways
 * with TensorFlow.js, a Keras `reset_after: true` file TensorFlow.js
 * refuses, and clear errors for broken files.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as gw from '../ts/index.js';
import { DEFAULT_GRU_CONFIG } from '../ts/index.js';
import { expectClose } from './support/compare.js';
import { gru64 } from './support/gru64.js';
import { randomUniform } from './support/random.js';
import { loadIntoTfjs, saveTfjsModel } from './support/tfjs-files.js';

const [N, T, F, H] = [4, 6, 3, 5];
let dir: string;

beforeAll(async () => {
  await tf.setBackend('cpu');
  await gw.ready();
  dir = await mkdtemp(join(tmpdir(), 'gru-wasm-files-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function inputs(): { x: Float32Array; gx: gw.Tensor } {
  const x = randomUniform(3, N * T * F);
  return { x, gx: gw.tensor(x, [N, T, F]) };
}

async function predictions(model: gw.Sequential, gx: gw.Tensor): Promise<Float32Array> {
  const p = await model.predict(gx);
  const values = await p.data();
  p.dispose();
  return values;
}

function buildModel(resetAfter: boolean): gw.Sequential {
  gw.setRandomSeed(17);
  const model = gw.sequential();
  model.add(gw.layers.masking({ maskValue: -9, inputShape: [T, F] }));
  model.add(
    gw.layers.bidirectional({
      layer: gw.layers.gru({ units: H, returnSequences: true, resetAfter }),
      mergeMode: 'sum',
    }),
  );
  model.add(gw.layers.dropout({ rate: 0.2 }));
  model.add(gw.layers.gru({ units: H, resetAfter, recurrentActivation: 'hardSigmoid' }));
  model.add(gw.layers.dense({ units: 2, activation: 'softmax' }));
  return model;
}

describe('gru-wasm files', () => {
  for (const resetAfter of [false, true]) {
    it(`round-trip bit for bit (resetAfter ${resetAfter})`, async () => {
      const model = buildModel(resetAfter);
      const { gx } = inputs();
      const saved = await model.save(`file://${dir}/round-${resetAfter}`);
      expect(saved.bytes).toBe(4 * model.countParams());
      const loaded = await gw.loadModel(join(dir, `round-${resetAfter}`));
      expect(loaded.layers.map((l) => l.className)).toEqual([
        'Masking',
        'Bidirectional',
        'Dropout',
        'GRU',
        'Dense',
      ]);
      expect(await predictions(loaded, gx)).toEqual(await predictions(model, gx));
      expect(loaded.snapshotWeights()).toEqual(model.snapshotWeights());
      model.dispose();
      loaded.dispose();
      gx.dispose();
    });
  }
});

/** `ours` predicts what TensorFlow.js' `theirs` does on the test inputs. */
async function expectPredictsAsTfjs(ours: gw.Sequential, theirs: tf.LayersModel): Promise<void> {
  const { x, gx } = inputs();
  expectClose(
    'predictions',
    await predictions(ours, gx),
    (theirs.predict(tf.tensor3d(x, [N, T, F])) as tf.Tensor).dataSync(),
    2e-5,
  );
  gx.dispose();
}

describe('with TensorFlow.js', () => {
  it('a gru-wasm model loads in TensorFlow.js and predicts the same', async () => {
    const model = buildModel(false);
    await model.save(join(dir, 'to-tfjs'));
    const { model: theirs } = await loadIntoTfjs(join(dir, 'to-tfjs'));
    await expectPredictsAsTfjs(model, theirs);
    model.dispose();
  });

  it('a TensorFlow.js model loads in gru-wasm and predicts the same', async () => {
    const theirs = tf.sequential();
    theirs.add(
      tf.layers.gru({ units: H, inputShape: [T, F], returnSequences: true, recurrentActivation: 'sigmoid' }),
    );
    theirs.add(
      tf.layers.bidirectional({ layer: tf.layers.gru({ units: H }) as tf.layers.RNN, mergeMode: 'concat' }),
    );
    theirs.add(tf.layers.dense({ units: 1, activation: 'sigmoid' }));
    const target = join(dir, 'from-tfjs');
    await saveTfjsModel(theirs, target);
    const ours = await gw.loadModel(`file://${target}/model.json`);
    await expectPredictsAsTfjs(ours, theirs);
    // TensorFlow.js' GRU defaults to hardSigmoid; the file says which it used.
    expect((ours.layers[1] as gw.layers.Bidirectional).forwardLayer.config.recurrentActivation).toBe(
      'hardSigmoid',
    );
    ours.dispose();
  });

  it('a TensorFlow.js model with TimeDistributed(Dense) loads as a Dense over the sequence', async () => {
    const theirs = tf.sequential();
    theirs.add(
      tf.layers.gru({ units: H, inputShape: [T, F], returnSequences: true, recurrentActivation: 'sigmoid' }),
    );
    theirs.add(tf.layers.timeDistributed({ layer: tf.layers.dense({ units: 2, activation: 'tanh' }) }));
    const target = join(dir, 'time-distributed');
    await saveTfjsModel(theirs, target);
    const ours = await gw.loadModel(target);
    expect(ours.layers.map((l) => l.className)).toEqual(['GRU', 'Dense']);
    expect(ours.outputShape).toEqual([T, 2]);
    await expectPredictsAsTfjs(ours, theirs);
    ours.dispose();
  });
});

describe('a Keras file with reset_after = true', () => {
  // Written by hand in the layout tensorflowjs_converter gives a Keras 2 model
  // (model_config, an InputLayer, Keras' weight names): GRU(H) → Dense(1).
  const kernel = randomUniform(40, F * 3 * H, -0.5, 0.5);
  const recurrent = randomUniform(41, H * 3 * H, -0.5, 0.5);
  const bias = randomUniform(42, 2 * 3 * H, -0.2, 0.2);
  const dense = randomUniform(43, H, -1, 1);
  const denseBias = Float32Array.of(0.1);
  const modelJson = {
    format: 'layers-model',
    generatedBy: 'keras v2.15.0',
    convertedBy: 'TensorFlow.js Converter v4.22.0',
    modelTopology: {
      keras_version: '2.15.0',
      backend: 'tensorflow',
      model_config: {
        class_name: 'Sequential',
        config: {
          name: 'sequential',
          layers: [
            {
              class_name: 'InputLayer',
              config: { batch_input_shape: [null, T, F], dtype: 'float32', name: 'input_1' },
            },
            {
              class_name: 'GRU',
              config: {
                name: 'gru',
                units: H,
                activation: 'tanh',
                recurrent_activation: 'sigmoid',
                use_bias: true,
                reset_after: true,
                return_sequences: false,
                return_state: false,
                go_backwards: false,
                stateful: false,
                unroll: false,
                dropout: 0,
                recurrent_dropout: 0,
              },
            },
            {
              class_name: 'Dense',
              config: { name: 'dense', units: 1, activation: 'linear', use_bias: true },
            },
          ],
        },
      },
    },
    weightsManifest: [
      {
        paths: ['group1-shard1of1.bin'],
        weights: [
          { name: 'gru/gru_cell/kernel', shape: [F, 3 * H], dtype: 'float32' },
          { name: 'gru/gru_cell/recurrent_kernel', shape: [H, 3 * H], dtype: 'float32' },
          { name: 'gru/gru_cell/bias', shape: [2, 3 * H], dtype: 'float32' },
          { name: 'dense/kernel', shape: [H, 1], dtype: 'float32' },
          { name: 'dense/bias', shape: [1], dtype: 'float32' },
        ],
      },
    ],
  };
  const bytes = () => {
    const all = new Float32Array([...kernel, ...recurrent, ...bias, ...dense, ...denseBias]);
    return new Uint8Array(all.buffer);
  };

  it('loads and predicts as the float64 equations do', async () => {
    const target = join(dir, 'keras');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(target, { recursive: true });
    await writeFile(join(target, 'model.json'), JSON.stringify(modelJson));
    await writeFile(join(target, 'group1-shard1of1.bin'), bytes());
    const model = await gw.loadModel(join(target, 'model.json'));
    const { x, gx } = inputs();
    const states = gru64(
      { batch: N, steps: T, input: F, units: H },
      { ...DEFAULT_GRU_CONFIG, resetAfter: true },
      { kernel, recurrentKernel: recurrent, bias },
      x,
    );
    const expected = Array.from({ length: N }, (_, n) =>
      dense.reduce((s, w, j) => s + w * (states[n * H + j] as number), 0.1),
    );
    expectClose('predictions', await predictions(model, gx), expected, 2e-5);
    model.dispose();
    gx.dispose();
  });

  it('is refused by TensorFlow.js', async () => {
    await expect(
      tf.loadLayersModel(
        tf.io.fromMemory({
          modelTopology: modelJson.modelTopology,
          weightSpecs: modelJson.weightsManifest[0]?.weights as tf.io.WeightsManifestEntry[],
          weightData: bytes().buffer as ArrayBuffer,
        }),
      ),
    ).rejects.toThrow(/reset_after/);
  });
});

describe('over http', () => {
  it('loads a model served over HTTP, and names a missing weight file', async () => {
    const { createServer } = await import('node:http');
    const model = buildModel(true);
    await model.save(join(dir, 'served'));
    const server = createServer(async (request, response) => {
      const name = (request.url ?? '').replace(/^\/models\//, '');
      try {
        const body = await readFile(join(dir, 'served', name));
        response.writeHead(200).end(body);
      } catch {
        response.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as { port: number };
      const loaded = await gw.loadModel(`http://127.0.0.1:${port}/models/model.json`);
      const { gx } = inputs();
      expect(await predictions(loaded, gx)).toEqual(await predictions(model, gx));
      loaded.dispose();
      gx.dispose();
      await rm(join(dir, 'served', 'weights.bin'));
      await expect(gw.loadModel(`http://127.0.0.1:${port}/models/model.json`)).rejects.toThrow(
        `http://127.0.0.1:${port}/models/weights.bin: HTTP 404`,
      );
    } finally {
      server.close();
      model.dispose();
    }
  });
});

describe('saving over http', () => {
  it('POSTs the multipart form tf.io.http sends, and rejects when the server refuses', async () => {
    const { createServer } = await import('node:http');
    const model = buildModel(true);
    const received = join(dir, 'received');
    await mkdir(received, { recursive: true });
    let status = 200;
    const server = createServer(async (request, response) => {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      const form = await new Request('http://server/', {
        method: 'POST',
        headers: request.headers as Record<string, string>,
        body: Buffer.concat(chunks),
      }).formData();
      for (const field of ['model.json', 'model.weights.bin']) {
        const file = form.get(field) as File;
        await writeFile(join(received, file.name), new Uint8Array(await file.arrayBuffer()));
      }
      response.writeHead(status).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/upload`;
      const result = await model.save(url);
      expect(result.modelJson).toBe(url);
      const json = JSON.parse(await readFile(join(received, 'model.json'), 'utf8')) as {
        weightsManifest: { paths: string[] }[];
      };
      expect(json.weightsManifest[0]?.paths).toEqual(['./model.weights.bin']);
      const loaded = await gw.loadModel(join(received, 'model.json'));
      const { gx } = inputs();
      expect(await predictions(loaded, gx)).toEqual(await predictions(model, gx));
      loaded.dispose();
      gx.dispose();
      status = 500;
      await expect(model.save(url)).rejects.toThrow(`${url}: HTTP 500`);
    } finally {
      server.close();
      model.dispose();
    }
  });
});

describe('broken files', () => {
  it('get errors naming the file and what is wrong', async () => {
    const model = buildModel(false);
    const target = join(dir, 'broken');
    await model.save(target);
    model.dispose();
    const jsonFile = join(target, 'model.json');
    const binFile = join(target, 'weights.bin');
    const good = await readFile(jsonFile, 'utf8');
    const bin = await readFile(binFile);

    await writeFile(binFile, bin.subarray(0, bin.length - 8));
    await expect(gw.loadModel(target)).rejects.toThrow(
      /model\.json: the weight files hold \d+ bytes but the manifest's shapes need \d+ \(truncated\?\)/,
    );
    await writeFile(binFile, bin);

    await writeFile(jsonFile, good.slice(0, 200));
    await expect(gw.loadModel(target)).rejects.toThrow(/model\.json: not valid JSON/);

    interface Editable {
      weightsManifest: { paths: string[]; weights: { dtype: string; shape: number[] }[] }[];
      modelTopology: { config: { layers: { class_name: string }[] } };
    }
    const edit = async (change: (json: Editable, group: Editable['weightsManifest'][number]) => void) => {
      const json = JSON.parse(good) as Editable;
      change(json, json.weightsManifest[0] as Editable['weightsManifest'][number]);
      await writeFile(jsonFile, JSON.stringify(json));
    };
    await edit((_, group) => {
      (group.weights[0] as { dtype: string }).dtype = 'int32';
    });
    await expect(gw.loadModel(target)).rejects.toThrow(
      /weightsManifest\[0\]\.weights\[0\]\.dtype: unsupported dtype "int32"/,
    );
    await edit((j) => {
      (j.modelTopology.config.layers[4] as { class_name: string }).class_name = 'LSTM';
    });
    await expect(gw.loadModel(target)).rejects.toThrow(
      /layers\[4\]\.class_name: unsupported layer class 'LSTM'/,
    );
    await edit((_, group) => {
      (group.weights[0] as { shape: number[] }).shape = [100000, 100000];
    });
    await expect(gw.loadModel(target)).rejects.toThrow(/more than the 1 GiB limit/);
    await edit((_, group) => {
      group.paths = ['../../etc/passwd'];
    });
    await expect(gw.loadModel(target)).rejects.toThrow(/not a relative file name/);
    await expect(gw.loadModel('indexeddb://my-model')).rejects.toThrow(
      'indexeddb:// needs a browser with IndexedDB',
    );
    await expect(gw.loadModel('downloads://my-model')).rejects.toThrow(/a place to save to/);
    await expect(gw.loadModel('ftp://host/model.json')).rejects.toThrow(
      "loadModel: 'ftp://' is not a model location gru-wasm knows",
    );
    // Failed loads free what they allocated.
    expect(gw.kernel().live().tensors).toBe(0);
  });
});
