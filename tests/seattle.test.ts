/** The main job's data preparation, and the trained GRU against its baselines. */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import {
  majorityAccuracy,
  parseWeather,
  persistenceAccuracy,
  prepare,
  seattleFromCsv,
} from '../demo/seattle.js';
import { DEFAULTS, trainSeattle } from '../demo/train-seattle.js';

const csvPath = new URL('../data/seattle-weather.csv', import.meta.url);
const loadSeattle = async (path: URL) => seattleFromCsv(await readFile(path, 'utf8'));

describe('Seattle weather data', () => {
  it('windows, splits chronologically and standardises on the training days', async () => {
    const data = await loadSeattle(csvPath);
    // 1,461 days, 14-day windows: 1,447 samples split 70/10/20.
    expect([data.train.samples, data.validation.samples, data.test.samples]).toEqual([1012, 145, 290]);
    expect(data.dates.train[0]).toBe('2012-01-15');
    expect(data.dates.test[1]).toBe('2015-12-31');
    expect(data.test.labelDates[data.test.samples - 1]).toBe('2015-12-31');
    expect(data.validation.labelDates[0]).toBe(data.dates.validation[0]);
    expect(
      data.dates.train[1] < data.dates.validation[0] && data.dates.validation[1] < data.dates.test[0],
    ).toBe(true);
    // Standardised: the first window's features have mean near 0 over training.
    const f0 = Array.from({ length: data.train.samples }, (_, s) => data.train.x[s * 14 * 4] as number);
    expect(Math.abs(f0.reduce((a, b) => a + b, 0) / f0.length)).toBeLessThan(0.1);
    expect(majorityAccuracy(data.train, data.test)).toBeCloseTo(0.631, 3);
    expect(persistenceAccuracy(data.test)).toBeCloseTo(0.721, 3);
  });

  it('refuses malformed files', () => {
    expect(() =>
      parseWeather('date,precipitation,temp_max,temp_min,wind\n2012-01-01,0,1,2,3\n2012-01-02,x,1,2,3'),
    ).toThrow("weather CSV line 3: malformed row '2012-01-02,x,1,2,3'");
    expect(() => parseWeather('date,rain\n2012-01-01,0')).toThrow("weather CSV: no column 'precipitation'");
    const days = parseWeather('date,precipitation,temp_max,temp_min,wind\n2012-01-01,0,1,2,3');
    expect(() => prepare(days)).toThrow('too few');
  });

  it('trains a GRU that beats persistence on the test days', async () => {
    const data = await loadSeattle(csvPath);
    const { model, testAccuracy } = await trainSeattle(data, { ...DEFAULTS, verbose: 0 });
    model.dispose();
    expect(testAccuracy).toBeGreaterThan(persistenceAccuracy(data.test));
  }, 120_000);
});
