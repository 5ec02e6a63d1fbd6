/**
 * The browser demo end to end, in real headless Chromium (Debian's, which
 * `npm run setup` installs): Vite builds examples/web against this
 * repository's build, a server sends the cross-origin isolation headers, and
 * the page trains the Seattle model on a kernel worker while its animation
 * frames keep coming; the model then goes to IndexedDB and back, and out as
 * downloads that load in Node. A screenshot is left in test-results/.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { type Browser, chromium, type Download, type Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seattleFromCsv } from '../demo/seattle.js';
import type { DemoState } from '../examples/web/src/main.js';
import { isolationHeaders } from '../examples/web/vite.config.js';
import * as gw from '../ts/index.js';
import { expectClose } from './support/compare.js';

const CHROMIUM = '/usr/bin/chromium';
const root = new URL('../examples/web/', import.meta.url);
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
};

let outDir: string;
let server: Server;
let origin: string;
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: \`npm run setup\` installs Debian's chromium`);
  outDir = await mkdtemp(join(tmpdir(), 'gru-wasm-web-'));
  await build({ configFile: new URL('vite.config.ts', root).pathname, build: { outDir }, logLevel: 'warn' });
  // The build is served twice: with the isolation headers, and under /open/ without them.
  server = createServer(async (request, response) => {
    let path = normalize(decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname));
    const isolated = !path.startsWith('/open/');
    if (!isolated) path = path.slice('/open'.length);
    const file = join(outDir, path.endsWith('/') ? `${path}index.html` : path);
    try {
      const body = await readFile(file);
      response.writeHead(200, {
        'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
        ...(isolated ? isolationHeaders : {}),
      });
      response.end(body);
    } catch {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking'],
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => server?.close(resolve));
  if (outDir) await rm(outDir, { recursive: true, force: true });
});

/** Collects page errors, console errors and failed responses, which a test expects none of. */
function problemsOf(page: Page): string[] {
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  page.on('response', (response) => {
    if (response.status() >= 400) problems.push(`HTTP ${response.status()} for ${response.url()}`);
  });
  return problems;
}

const demoState = (page: Page) => page.evaluate(() => (window as unknown as { gruDemo: DemoState }).gruDemo);

/** Waits until the demo reaches one of `phases`. */
async function phase(page: Page, phases: DemoState['phase'][], timeout = 30_000): Promise<DemoState> {
  await page.waitForFunction(
    (wanted) => wanted.includes((window as unknown as { gruDemo: DemoState }).gruDemo.phase),
    phases,
    { timeout },
  );
  return demoState(page);
}

/** Clicks Train; returns the page's workers once the first epoch has ended (the forecasting pool starts only after training). */
async function startTraining(page: Page): Promise<number> {
  await page.click('#train');
  await page.waitForFunction(
    () => (window as unknown as { gruDemo: DemoState }).gruDemo.epochs >= 1,
    undefined,
    {
      timeout: 60_000,
    },
  );
  return page.workers().length;
}

/** The isolated page's forecasts, which the page without isolation must repeat. */
let isolatedProbabilities: number[] | undefined;

describe('browser demo (examples/web)', () => {
  it('trains on a kernel worker in Chromium, stays responsive, saves to IndexedDB and downloads', async () => {
    const page = await browser.newPage({ viewport: { width: 900, height: 1100 } });
    const problems = problemsOf(page);
    await page.goto(`${origin}/index.html`);
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    const ready = await phase(page, ['ready', 'failed']);
    expect(ready.error).toBe('');
    expect(ready.kernel).toBe('threads');
    // Chromium has relaxed SIMD: the faster builds are chosen.
    expect(ready.relaxed).toBe(true);

    expect(await startTraining(page)).toBe(1);
    const final = await phase(page, ['done', 'failed'], 180_000);
    await mkdir('test-results', { recursive: true });
    await page.screenshot({ path: 'test-results/web-demo.png', fullPage: true });
    expect(final.error).toBe('');
    expect(final.phase).toBe('done');
    expect(final.source).toBe('trained');
    expect(final.probabilities).toHaveLength(290);
    expect(final.poolMemory).toBe('shared');
    isolatedProbabilities = final.probabilities;
    expect(final.epochs).toBeGreaterThan(10);
    // The Node demo reaches 73.8–76.6 % over seeds 1–10; persistence is 72.1 %.
    expect(final.testAccuracy).toBeGreaterThan(0.72);
    expect(await page.locator('#accuracy').textContent()).toMatch(/Test accuracy \d+\.\d %/);
    expect(await page.locator('#predictions tbody tr').count()).toBe(14);
    // The page kept drawing while it trained: frames came, never 250 ms apart.
    expect(final.frames).toBeGreaterThan(20);
    expect(final.longestFrameGapMs).toBeLessThan(250);

    // Saved in IndexedDB, the model comes back after a reload with the same forecasts.
    await page.click('#save');
    await phase(page, ['saved', 'failed']);
    // Downloaded, its two files load in Node and predict the same.
    const downloads: Download[] = [];
    page.on('download', (download) => downloads.push(download));
    await page.click('#download');
    await expect.poll(() => downloads.length, { timeout: 10_000 }).toBe(2);
    const saved = join(outDir, 'downloads');
    await mkdir(saved, { recursive: true });
    for (const download of downloads) await download.saveAs(join(saved, download.suggestedFilename()));
    expect(downloads.map((d) => d.suggestedFilename()).sort()).toEqual([
      'seattle-gru.json',
      'seattle-gru.weights.bin',
    ]);
    await gw.ready();
    const downloaded = await gw.loadModel(join(saved, 'seattle-gru.json'));
    const data = seattleFromCsv(
      await readFile(new URL('../data/seattle-weather.csv', import.meta.url), 'utf8'),
    );
    const testX = gw.tensor(data.test.x, [data.test.samples, data.window, data.features]);
    const inNode = await downloaded.predict(testX);
    // The page ran the relaxed-SIMD build (fused multiply-adds), Node the plain one.
    expectClose('the downloaded model in Node', [...inNode.dataSync()], final.probabilities, 1e-5);
    for (const t of [inNode, testX]) t.dispose();
    downloaded.dispose();

    await page.reload();
    await phase(page, ['ready', 'failed']);
    await page.click('#load');
    const reloaded = await phase(page, ['done', 'failed']);
    expect(reloaded.error).toBe('');
    expect(reloaded.source).toBe('indexeddb');
    expect(reloaded.probabilities).toEqual(final.probabilities);
    expect(reloaded.testAccuracy).toBe(final.testAccuracy);

    // TensorFlow.js in the same page reads the record gru-wasm wrote, and the reverse.
    await page.addScriptTag({
      path: createRequire(import.meta.url).resolve('@tensorflow/tfjs/dist/tf.min.js'),
    });
    const shape = [data.test.samples, data.window, data.features];
    const fromTfjs = await page.evaluate(
      async ({ values, shape }) => {
        const tf = (window as unknown as { tf: typeof import('@tensorflow/tfjs') }).tf;
        await tf.setBackend('cpu');
        const x = tf.tensor3d(values, shape as [number, number, number]);
        const predict = async (model: import('@tensorflow/tfjs').LayersModel) =>
          Array.from(await (model.predict(x) as import('@tensorflow/tfjs').Tensor).data());
        const ours = await predict(await tf.loadLayersModel('indexeddb://seattle-gru'));
        const theirs = tf.sequential();
        theirs.add(
          tf.layers.gru({
            units: 32,
            inputShape: [shape[1] as number, shape[2] as number],
            recurrentActivation: 'sigmoid',
          }),
        );
        theirs.add(tf.layers.dense({ units: 1, activation: 'sigmoid' }));
        await theirs.save('indexeddb://seattle-gru');
        return { ours, theirs: await predict(theirs) };
      },
      { values: [...data.test.x], shape },
    );
    expectClose('TensorFlow.js on gru-wasm’s IndexedDB record', fromTfjs.ours, final.probabilities, 2e-5);
    await page.click('#load');
    await page.waitForFunction(
      (before) => (window as unknown as { gruDemo: DemoState }).gruDemo.probabilities[0] !== before,
      reloaded.probabilities[0],
      { timeout: 30_000 },
    );
    expectClose(
      'gru-wasm on TensorFlow.js’ IndexedDB record',
      (await demoState(page)).probabilities,
      fromTfjs.theirs,
      2e-5,
    );
    expect(problems).toEqual([]);
    await page.close();
  }, 240_000);

  it('splits one sequence between two workers in Chromium, bit for bit as on the page thread', async () => {
    const page = await browser.newPage();
    const problems = problemsOf(page);
    await page.goto(`${origin}/index.html`);
    await phase(page, ['ready', 'failed']);
    // GRU(256), T = 100: enough work per sequence (44 MFLOP) for `predict`
    // to send one sequence to the workers, each GRU step's units split
    // between them (they meet over the shared memory after every step).
    const result = await page.evaluate(async () => {
      const gw = (window as unknown as { gw: typeof import('../ts/index.js') }).gw;
      const build = (workers: number) => {
        gw.setRandomSeed(5);
        const model = gw.sequential();
        model.add(gw.layers.gru({ units: 256, inputShape: [100, 32] }));
        model.add(gw.layers.dense({ units: 3, activation: 'softmax' }));
        model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy', workers });
        return model;
      };
      const x = gw.tensor(
        Float32Array.from({ length: 100 * 32 }, (_, i) => Math.sin(i)),
        [1, 100, 32],
      );
      const [here, split] = [build(0), build(2)];
      const expected = Array.from((await here.predict(x)).dataSync());
      const workers = (await split.workers())?.workers;
      const before = workers?.trafficSoFar().messages ?? 0;
      const got = Array.from((await split.predict(x)).dataSync());
      const again = Array.from((await split.predict(x)).dataSync());
      const messages = (workers?.trafficSoFar().messages ?? 0) - before;
      for (const disposable of [here, split, x]) disposable.dispose();
      return { expected, got, again, messages };
    });
    expect(result.got).toEqual(result.expected);
    expect(result.again).toEqual(result.expected);
    // A call and a reply per worker, per predict: the split ran.
    expect(result.messages).toBe(2 * 2 * 2);
    expect(problems).toEqual([]);
    await page.close();
  }, 120_000);

  it('falls back quietly without cross-origin isolation: a worker with its own model copy, a copying pool, the same forecasts', async () => {
    const page = await browser.newPage({ viewport: { width: 900, height: 1100 } });
    const problems = problemsOf(page);
    await page.goto(`${origin}/open/index.html`);
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(false);
    const ready = await phase(page, ['ready', 'failed']);
    expect(ready.error).toBe('');
    expect(ready.kernel).toBe('simd');
    expect(ready.relaxed).toBe(true);
    // Without shared memory, one worker hosts the training.
    expect(await startTraining(page)).toBe(1);
    const final = await phase(page, ['done', 'failed'], 180_000);
    await page.screenshot({ path: 'test-results/web-demo-not-isolated.png', fullPage: true });
    expect(final.error).toBe('');
    expect(final.poolMemory).toBe('copied');
    // Same kernel code, one thread or a worker, simd or threads build: the same numbers.
    if (isolatedProbabilities) expect(final.probabilities).toEqual(isolatedProbabilities);
    expect(final.testAccuracy).toBeGreaterThan(0.72);
    // Training runs on a worker with its own copy of the model: frames keep coming.
    expect(final.frames).toBeGreaterThan(10);
    expect(final.longestFrameGapMs).toBeLessThan(250);
    expect(problems).toEqual([]);
    await page.close();
  }, 240_000);
});
