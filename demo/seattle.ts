/**
 * The bundled default data set: Seattle daily weather 2012–2015
 * (data/seattle-weather.csv). The task: will it rain tomorrow
 * (precipitation > 0), from the previous 14 days of precipitation,
 * temp_max, temp_min and wind. Split chronologically 70/10/20 into
 * train/validation/test; features standardised on the training days.
 */
export const FEATURES = ['precipitation', 'temp_max', 'temp_min', 'wind'] as const;

export interface Split {
  /** `[samples, window, features]`, standardised. */
  x: Float32Array;
  /** `[samples]`: 1 when the next day has rain. */
  y: Float32Array;
  /** `[samples]`: 1 when the window's last day has rain (the persistence guess). */
  rainToday: Float32Array;
  /** `[samples]`: the date each label is for (the day after the window). */
  labelDates: string[];
  samples: number;
}

export interface SeattleData {
  window: number;
  features: number;
  train: Split;
  validation: Split;
  test: Split;
  /** First and last date of each split's labels. */
  dates: Record<'train' | 'validation' | 'test', [string, string]>;
}

interface Day {
  date: string;
  values: number[];
}

/** Parses the CSV; throws naming the line of any malformed row. */
export function parseWeather(csv: string): Day[] {
  const lines = csv.trim().split(/\r?\n/);
  const header = (lines[0] ?? '').split(',');
  const columns = FEATURES.map((name) => {
    const index = header.indexOf(name);
    if (index < 0) throw new Error(`weather CSV: no column '${name}' (header: ${header.join(',')})`);
    return index;
  });
  const dateColumn = header.indexOf('date');
  return lines.slice(1).map((line, i) => {
    const cells = line.split(',');
    const values = columns.map((c) => Number(cells[c]));
    if (values.some((v) => !Number.isFinite(v)) || cells.length !== header.length) {
      throw new Error(`weather CSV line ${i + 2}: malformed row '${line}'`);
    }
    return { date: cells[dateColumn] ?? `row ${i + 1}`, values };
  });
}

/** Windows, labels, the chronological split and standardisation. */
export function prepare(days: Day[], window = 14, fractions: [number, number] = [0.7, 0.1]): SeattleData {
  const features = FEATURES.length;
  // Sample s: days s .. s + window − 1 as input, day s + window as label.
  const total = days.length - window;
  if (total < 10) throw new Error(`weather data: ${days.length} days are too few for ${window}-day windows`);
  const trainEnd = Math.floor(total * fractions[0]);
  const validationEnd = Math.floor(total * (fractions[0] + fractions[1]));
  // Statistics over the days the training windows cover.
  const trainDays = days.slice(0, trainEnd + window - 1);
  const mean = FEATURES.map(
    (_, f) => trainDays.reduce((s, d) => s + (d.values[f] as number), 0) / trainDays.length,
  );
  const std = FEATURES.map((_, f) => {
    const m = mean[f] as number;
    const variance = trainDays.reduce((s, d) => s + ((d.values[f] as number) - m) ** 2, 0) / trainDays.length;
    return Math.sqrt(variance) || 1;
  });
  const rain = (day: Day | undefined) => ((day?.values[0] as number) > 0 ? 1 : 0);
  const labelDate = (s: number) => days[s + window]?.date ?? '';
  const split = (from: number, to: number): Split => {
    const samples = to - from;
    const x = new Float32Array(samples * window * features);
    const y = new Float32Array(samples);
    const rainToday = new Float32Array(samples);
    for (let s = 0; s < samples; s++) {
      const start = from + s;
      for (let t = 0; t < window; t++) {
        const day = days[start + t] as Day;
        for (let f = 0; f < features; f++) {
          x[(s * window + t) * features + f] =
            ((day.values[f] as number) - (mean[f] as number)) / (std[f] as number);
        }
      }
      y[s] = rain(days[start + window]);
      rainToday[s] = rain(days[start + window - 1]);
    }
    const labelDates = Array.from({ length: samples }, (_, s) => labelDate(from + s));
    return { x, y, rainToday, labelDates, samples };
  };
  return {
    window,
    features,
    train: split(0, trainEnd),
    validation: split(trainEnd, validationEnd),
    test: split(validationEnd, total),
    dates: {
      train: [labelDate(0), labelDate(trainEnd - 1)],
      validation: [labelDate(trainEnd), labelDate(validationEnd - 1)],
      test: [labelDate(validationEnd), labelDate(total - 1)],
    },
  };
}

/** The data set from the CSV's text (read from a file in Node, fetched or bundled in a page). */
export function seattleFromCsv(csv: string, window = 14): SeattleData {
  return prepare(parseWeather(csv), window);
}

/** Accuracy of always predicting the training set's majority class. */
export function majorityAccuracy(train: Split, test: Split): number {
  const rainy = train.y.reduce((a, b) => a + b, 0) * 2 >= train.samples ? 1 : 0;
  return test.y.reduce((hits, label) => hits + (label === rainy ? 1 : 0), 0) / test.samples;
}

/** Accuracy of "tomorrow like today". */
export function persistenceAccuracy(split: Split): number {
  return split.y.reduce((hits, label, i) => hits + (label === split.rainToday[i] ? 1 : 0), 0) / split.samples;
}
