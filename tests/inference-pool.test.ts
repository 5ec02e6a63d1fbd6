/**
 * The inference pool: the model's own predictions from workers, calls served
 * in arrival order, a worker killed mid-call failing only that call and being
 * replaced, and nothing left allocated once the pool is disposed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as gw from '../ts/index.js';
import { randomUniform } from './support/random.js';
import { within } from './support/within.js';

await gw.ready();
const [T, I] = [30, 6];
const dir = mkdtempSync(join(tmpdir(), 'gru-wasm-pool-'));

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function model(units = 16) {
  gw.setRandomSeed(3);
  const m = gw.sequential();
  m.add(gw.layers.gru({ units, inputShape: [T, I], resetAfter: true }));
  m.add(gw.layers.dense({ units: 2, activation: 'softmax' }));
  return m;
}

const batch = (rows: number, seed: number) => gw.tensor(randomUniform(seed, rows * T * I), [rows, T, I]);

describe.each(['shared', 'copied'] as const)('inference pool, memory %s', (memory) => {
  it('serves concurrent calls with the model’s own predictions, bit for bit', async () => {
    const m = model();
    const inputs = [1, 7, 3, 32, 1, 5].map((rows, i) => batch(rows, 10 + i));
    const expected = await Promise.all(inputs.map((x) => m.predict(x)));
    const before = gw.kernel().live();
    const pool = await within(gw.createInferencePool(m, { size: 2, memory }), 'create');
    const got = await within(Promise.all(inputs.map((x) => pool.predict(x))), 'predict');
    for (const [i, e] of expected.entries()) {
      expect(got[i]?.shape).toEqual(e.shape);
      expect(got[i]?.dataSync()).toEqual(e.dataSync());
    }
    for (const t of got) t.dispose();
    await pool.dispose();
    // The pool's model copy, the workers' replicas and every request buffer are freed.
    expect(gw.kernel().live()).toEqual(before);
    for (const t of [...expected, ...inputs]) t.dispose();
    m.dispose();
  });

  it('answers in arrival order with one worker, and copies the model', async () => {
    const m = model();
    const pool = await within(gw.createInferencePool(m, { size: 1, memory }), 'create');
    const x = batch(4, 1);
    const expected = (await m.predict(x)).dataSync();
    // Training the original afterwards must not change what the pool serves.
    m.compile({ optimizer: gw.optimizers.sgd({ learningRate: 1 }), loss: 'categoricalCrossentropy' });
    await m.fit(x, gw.tensor([1, 0, 0, 1, 1, 0, 0, 1], [4, 2]), { epochs: 2, verbose: 0 });
    const order: number[] = [];
    const calls = [0, 1, 2, 3, 4].map((i) =>
      pool.predict(x).then((p) => {
        order.push(i);
        return p;
      }),
    );
    expect(pool.queued).toBeGreaterThan(0);
    const results = await within(Promise.all(calls), 'predict');
    expect(order).toEqual([0, 1, 2, 3, 4]);
    for (const r of results) expect(r.dataSync()).toEqual(expected);
    await pool.dispose();
    m.dispose();
  });

  it('fails only the call of a worker that dies, replaces it, and serves later calls', async () => {
    const m = model(128);
    const x = batch(256, 2);
    const expected = (await m.predict(x, { batchSize: 256 })).dataSync();
    const before = gw.kernel().live();
    const pool = await within(gw.createInferencePool(m, { size: 2, memory }), 'create');
    const first = pool.predict(x);
    const second = pool.predict(x);
    // Worker 0 took the first call (idle workers take calls in order) and dies running it.
    void pool.killWorker(0);
    const settled = await within(Promise.allSettled([first, second]), 'calls around a crash');
    const [a, b] = settled;
    expect(a?.status).toBe('rejected');
    expect(String((a as PromiseRejectedResult).reason)).toMatch(/predict: kernel worker 0 exited/);
    expect(b?.status).toBe('fulfilled');
    // Both workers serve again once the dead one is replaced.
    const later = await within(Promise.all([1, 2, 3, 4].map(() => pool.predict(x))), 'later calls');
    for (const p of later) expect(p.dataSync()).toEqual(expected);
    for (const p of [...later, (b as PromiseFulfilledResult<gw.Tensor>).value]) p.dispose();
    await pool.dispose();
    // Nothing left, not even the buffers of the call the dead worker was running.
    expect(gw.kernel().live()).toEqual(before);
    x.dispose();
    m.dispose();
  });
  it('frees a dead worker’s replica and a worker still starting in its place before dispose resolves', async () => {
    const m = model(128);
    const x = batch(4, 4);
    const before = gw.kernel().live();
    const pool = await within(gw.createInferencePool(m, { size: 2, memory }), 'create');
    // Worker 0 dies idle; the next call, routed to it, fails and the pool
    // starts a worker in its place: dispose while it starts.
    await pool.killWorker(0);
    await expect(within(pool.predict(x), 'call')).rejects.toThrow(/predict: kernel worker 0 exited/);
    await within(pool.dispose(), 'dispose');
    // Nothing of the pool is allocated afterwards, not even for a moment.
    const seen = new Set<string>();
    const probe = setInterval(() => seen.add(JSON.stringify(gw.kernel().live())), 1);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    clearInterval(probe);
    seen.add(JSON.stringify(gw.kernel().live()));
    expect([...seen]).toEqual([JSON.stringify(before)]);
    x.dispose();
    m.dispose();
  });
});

describe('inference pool', () => {
  it('loads a saved model by path', async () => {
    const m = model();
    await m.save(join(dir, 'saved'));
    const pool = await within(gw.createInferencePool(join(dir, 'saved'), { size: 1 }), 'create');
    const x = batch(3, 5);
    const got = await within(pool.predict(x), 'predict');
    expect(got.dataSync()).toEqual((await m.predict(x)).dataSync());
    await pool.dispose();
    m.dispose();
  });

  it('names bad input, and refuses calls once disposed', async () => {
    const m = model();
    const pool = await within(gw.createInferencePool(m, { size: 1 }), 'create');
    await expect(pool.predict(gw.tensor(new Float32Array(2 * T * 3), [2, T, 3]))).rejects.toThrow(
      /predict: x must have shape \[samples, 30, 6\], got \[2, 30, 3\]/,
    );
    const nan = randomUniform(1, T * I);
    nan[7] = Number.NaN;
    await expect(pool.predict(gw.tensor(nan, [1, T, I]))).rejects.toThrow(/NaN/);
    const queued = Promise.allSettled([1, 2, 3].map((seed) => pool.predict(batch(8, seed))));
    await pool.dispose();
    const outcomes = await queued;
    expect(outcomes.some((o) => o.status === 'rejected')).toBe(true);
    await expect(pool.predict(batch(1, 1))).rejects.toThrow(/disposed/);
    await expect(gw.createInferencePool(m, { size: 0 })).rejects.toThrow(/size/);
    m.dispose();
  });
});

describe('inference pool under memory pressure', () => {
  it('fails a call the kernel has no memory for, and serves the next one', async () => {
    gw.setRandomSeed(4);
    const big = gw.sequential();
    big.add(
      gw.layers.gru({
        units: 1024,
        inputShape: [100, 1],
        returnSequences: true,
        recurrentInitializer: 'glorotUniform',
      }),
    );
    const pool = await within(gw.createInferencePool(big, { size: 1 }), 'create');
    // 1,500 sequences of 100 steps × 1,024 units: 614 MB of output, which the
    // pool holds while the worker's layer needs as much again, past the
    // kernel's 1 GiB; on this thread the same happens to predict's own buffers.
    const huge = gw.tensor(new Float32Array(1500 * 100), [1500, 100, 1]);
    const outOfMemory = /out of memory allocating 153600000 floats \(614400000 bytes\)/;
    await expect(within(pool.predict(huge), 'huge predict')).rejects.toThrow(outOfMemory);
    await expect(big.predict(huge, { batchSize: 1500 })).rejects.toThrow(outOfMemory);
    // Both kernels stay usable.
    const small = gw.tensor(randomUniform(9, 2 * 100), [2, 100, 1]);
    const got = await within(pool.predict(small), 'predict after');
    expect(got.dataSync()).toEqual((await big.predict(small)).dataSync());
    await pool.dispose();
    big.dispose();
  });
});
