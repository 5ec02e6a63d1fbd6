/**
 * The page: loads the kernel, trains the Seattle model on a kernel worker
 * (the page thread only gathers batches and draws), charts each epoch and
 * lists the last test days' forecasts; saves the model in IndexedDB, loads
 * it back, and offers it as downloads.
 */
import * as gw from 'gru-wasm';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import csv from '../../../data/seattle-weather.csv?raw';
import {
  majorityAccuracy,
  persistenceAccuracy,
  type SeattleData,
  seattleFromCsv,
} from '../../../demo/seattle.js';

/** What the page reports about itself; the end-to-end test reads it. */
export interface DemoState {
  phase: 'loading' | 'ready' | 'training' | 'done' | 'saved' | 'failed';
  kernel: string;
  /** Whether the kernel is the relaxed-SIMD build (the browser has relaxed SIMD). */
  relaxed: boolean;
  /** Where the shown model came from. */
  source: 'trained' | 'indexeddb' | '';
  epochs: number;
  testAccuracy: number;
  /** P(rain) for every test day. */
  probabilities: number[];
  /** Whether the inference pool shares the kernel's memory or copies values. */
  poolMemory: string;
  /** Animation frames drawn while training, and the longest gap between two. */
  frames: number;
  longestFrameGapMs: number;
  error: string;
}

const state: DemoState = {
  phase: 'loading',
  kernel: '',
  relaxed: false,
  source: '',
  epochs: 0,
  testAccuracy: Number.NaN,
  probabilities: [],
  poolMemory: '',
  frames: 0,
  longestFrameGapMs: 0,
  error: '',
};
(window as unknown as { gruDemo: DemoState }).gruDemo = state;
// The library itself, for experiments in the console (and the end-to-end test).
(window as unknown as { gw: typeof gw }).gw = gw;

const element = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const trainButton = element<HTMLButtonElement>('train');
const saveButton = element<HTMLButtonElement>('save');
const loadButton = element<HTMLButtonElement>('load');
const downloadButton = element<HTMLButtonElement>('download');
const STORED = 'seattle-gru';
let shown: gw.Sequential | undefined;
const status = element('status');
const framesLabel = element('frames');

let lastFrame = performance.now();
function onFrame(now: number): void {
  if (state.phase === 'training') {
    state.frames += 1;
    state.longestFrameGapMs = Math.max(state.longestFrameGapMs, now - lastFrame);
    framesLabel.textContent = String(state.frames);
  }
  lastFrame = now;
  requestAnimationFrame(onFrame);
}
requestAnimationFrame(onFrame);

const chartData: [number[], number[], number[], number[], number[]] = [[], [], [], [], []];
const chart = new uPlot(
  {
    width: Math.min(780, window.innerWidth - 40),
    height: 300,
    scales: { x: { time: false }, accuracy: { range: [0.5, 1] } },
    axes: [
      { label: 'epoch' },
      { label: 'loss', scale: 'y' },
      { label: 'accuracy', scale: 'accuracy', side: 1, grid: { show: false } },
    ],
    series: [
      { label: 'epoch' },
      { label: 'loss', stroke: '#2f6fd6', scale: 'y' },
      { label: 'val loss', stroke: '#2f6fd6', dash: [6, 4], scale: 'y' },
      { label: 'accuracy', stroke: '#d67a2f', scale: 'accuracy' },
      { label: 'val accuracy', stroke: '#d67a2f', dash: [6, 4], scale: 'accuracy' },
    ],
  },
  chartData,
  element('chart'),
);

function plotEpoch(epoch: number, logs: gw.Logs): void {
  const values = [epoch + 1, logs.loss, logs.val_loss, logs.acc, logs.val_acc];
  values.forEach((v, i) => {
    chartData[i as 0]?.push(v ?? Number.NaN);
  });
  chart.setData(chartData);
}

function showPredictions(data: SeattleData, probabilities: Float32Array): void {
  const body = element('predictions').querySelector('tbody') as HTMLTableSectionElement;
  body.replaceChildren();
  const { test } = data;
  for (let s = test.samples - 14; s < test.samples; s++) {
    const p = probabilities[s] as number;
    const forecast = p > 0.5;
    const actual = test.y[s] === 1;
    const row = body.insertRow();
    row.insertCell().textContent = test.labelDates[s] ?? '';
    row.insertCell().textContent = p.toFixed(2);
    row.insertCell().textContent = forecast ? 'rain' : 'dry';
    const cell = row.insertCell();
    cell.textContent = actual ? 'rain' : 'dry';
    cell.className = forecast === actual ? 'hit' : 'miss';
  }
}

/** Test accuracy and the forecasts of `model`, shown on the page; the page keeps the model. */
async function show(data: SeattleData, model: gw.Sequential, source: DemoState['source']): Promise<void> {
  const { test } = data;
  const testX = gw.tensor(test.x, [test.samples, data.window, data.features]);
  // Served the way a web app would: by a worker of an inference pool.
  const pool = await gw.createInferencePool(model, { size: 1 });
  let probabilities: Float32Array;
  try {
    const prediction = await pool.predict(testX);
    probabilities = prediction.dataSync();
    prediction.dispose();
  } finally {
    await pool.dispose();
    testX.dispose();
  }
  const hits = probabilities.reduce((n, p, s) => n + ((p > 0.5 ? 1 : 0) === test.y[s] ? 1 : 0), 0);
  const accuracy = hits / test.samples;
  showPredictions(data, probabilities);
  element('accuracy').textContent =
    `Test accuracy ${(100 * accuracy).toFixed(1)} % (persistence ${(100 * persistenceAccuracy(test)).toFixed(1)} %, ` +
    `majority class ${(100 * majorityAccuracy(data.train, test)).toFixed(1)} %)`;
  if (shown !== model) shown?.dispose();
  shown = model;
  Object.assign(state, { testAccuracy: accuracy, probabilities: [...probabilities], source });
  for (const button of [saveButton, downloadButton]) button.disabled = false;
}

async function train(data: SeattleData, workers: number): Promise<void> {
  state.phase = 'training';
  trainButton.disabled = true;
  status.textContent = 'Training…';
  const { window: steps, features } = data;
  const tensors = (split: SeattleData['train']) =>
    [gw.tensor(split.x, [split.samples, steps, features]), gw.tensor(split.y, [split.samples, 1])] as const;
  const [trainX, trainY] = tensors(data.train);
  const [valX, valY] = tensors(data.validation);
  gw.setRandomSeed(42);
  const model = gw.sequential();
  model.add(gw.layers.gru({ units: 32, inputShape: [steps, features] }));
  model.add(gw.layers.dense({ units: 1, activation: 'sigmoid' }));
  model.compile({
    optimizer: gw.optimizers.adam({ learningRate: 1e-3 }),
    loss: 'binaryCrossentropy',
    metrics: ['accuracy'],
    workers,
  });
  try {
    chartData.forEach((series) => {
      series.length = 0;
    });
    const started = performance.now();
    await model.fit(trainX, trainY, {
      epochs: 40,
      batchSize: 32,
      validationData: [valX, valY],
      seed: 42,
      verbose: 0,
      callbacks: [
        gw.callbacks.earlyStopping({ monitor: 'val_loss', patience: 10, restoreBestWeights: true }),
        {
          onEpochEnd: (epoch, logs) => {
            state.epochs = epoch + 1;
            plotEpoch(epoch, logs);
            status.textContent = `Epoch ${epoch + 1}: loss ${logs.loss?.toFixed(3)}, validation accuracy ${(100 * (logs.val_acc ?? 0)).toFixed(1)} %`;
          },
        },
      ],
    });
    const seconds = (performance.now() - started) / 1000;
    await show(data, model, 'trained');
    status.textContent = `Trained ${state.epochs} epochs in ${seconds.toFixed(1)} s.`;
    state.phase = 'done';
  } catch (error) {
    model.dispose();
    throw error;
  } finally {
    for (const t of [trainX, trainY, valX, valY]) t.dispose();
    trainButton.disabled = false;
  }
}

async function save(destination: string, what: string): Promise<void> {
  if (!shown) return;
  const { bytes } = await shown.save(destination);
  status.textContent = `${what} (${bytes} bytes of weights).`;
  state.phase = 'saved';
}

async function loadSaved(data: SeattleData): Promise<void> {
  const model = await gw.loadModel(`indexeddb://${STORED}`);
  await show(data, model, 'indexeddb');
  status.textContent = `Loaded indexeddb://${STORED}.`;
  state.phase = 'done';
}

function fail(error: unknown): void {
  state.phase = 'failed';
  state.error = error instanceof Error ? error.message : String(error);
  status.textContent = `Failed: ${state.error}`;
}

try {
  const data = seattleFromCsv(csv);
  const kernel = await gw.ready();
  // Workers share the kernel's memory where the threaded kernel runs; elsewhere
  // one worker trains a copy of the model and the pool's workers hold copies.
  const shared = kernel.flavour === 'threads';
  state.kernel = kernel.flavour;
  state.relaxed = kernel.relaxed;
  state.poolMemory = shared ? 'shared' : 'copied';
  const build = `${kernel.flavour}${kernel.relaxed ? ' (relaxed SIMD)' : ''}`;
  element('kernel').textContent = shared
    ? `${build}; training on a kernel worker over the page's memory`
    : `${build}; this page is not cross-origin isolated, so training runs on a worker with its own kernel and copy of the model, and so do the forecasts`;
  trainButton.addEventListener('click', () => {
    train(data, 1).catch(fail);
  });
  saveButton.addEventListener('click', () => {
    save(`indexeddb://${STORED}`, `Saved as indexeddb://${STORED}`).catch(fail);
  });
  downloadButton.addEventListener('click', () => {
    save(`downloads://${STORED}`, `Offered ${STORED}.json and ${STORED}.weights.bin`).catch(fail);
  });
  loadButton.addEventListener('click', () => {
    loadSaved(data).catch(fail);
  });
  trainButton.disabled = false;
  loadButton.disabled = false;
  status.textContent = `${data.train.samples} training windows, ${data.test.samples} test days.`;
  state.phase = 'ready';
} catch (error) {
  fail(error);
}
