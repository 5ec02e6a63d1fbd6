/** Timing helpers: warm-up, repetitions, median and spread. */

export interface Timing {
  /** Milliseconds per repetition, sorted. */
  samples: number[];
  median: number;
  min: number;
  max: number;
}

export function time(body: () => void, options: { warmup: number; reps: number }): Timing {
  for (let i = 0; i < options.warmup; i++) body();
  const samples: number[] = [];
  for (let i = 0; i < options.reps; i++) {
    const start = performance.now();
    body();
    samples.push(performance.now() - start);
  }
  return summarize(samples);
}

/** As `time`, awaiting each repetition. */
export async function timeAsync(
  body: () => Promise<unknown>,
  options: { warmup: number; reps: number },
): Promise<Timing> {
  for (let i = 0; i < options.warmup; i++) await body();
  const samples: number[] = [];
  for (let i = 0; i < options.reps; i++) {
    const start = performance.now();
    await body();
    samples.push(performance.now() - start);
  }
  return summarize(samples);
}

/** What a body that times itself (a call in another process) resolves to: its own milliseconds. */
export class SelfTimed {
  constructor(readonly ms: number) {}
}

/**
 * As `timeAsync` for several bodies, in alternation: each repetition runs
 * every body once (or `block` times back to back, each call timed), so a
 * drift of the machine's speed falls on all alike and their ratios stay
 * honest. Blocks measure what back-to-back calls cost, as a server sees
 * them (and as `timeAsync` times the other systems): a body's first call
 * after another's finds the caches full of the other's data. `settleMs`
 * idles before each turn, so that threads another body left spinning for
 * work (ONNX Runtime's pool spins after each run) have gone to sleep
 * instead of taking the cores from the next.
 */
export async function timeInterleaved(
  bodies: readonly (() => Promise<unknown>)[],
  options: { warmup: number; reps: number; block?: number; settleMs?: number },
): Promise<Timing[]> {
  const block = options.block ?? 1;
  for (let i = 0; i < options.warmup; i++) for (const body of bodies) await body();
  const samples = bodies.map((): number[] => []);
  for (let i = 0; i < options.reps; i++) {
    for (const [b, body] of bodies.entries()) {
      if (options.settleMs) await new Promise((resolve) => setTimeout(resolve, options.settleMs));
      for (let call = 0; call < block; call++) {
        const start = performance.now();
        const result = await body();
        samples[b]?.push(result instanceof SelfTimed ? result.ms : performance.now() - start);
      }
    }
  }
  return samples.map(summarize);
}

/** Median, minimum and maximum of some timings. */
export function summarize(samples: readonly number[]): Timing {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median =
    sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return { samples: sorted, median, min: sorted[0] as number, max: sorted[sorted.length - 1] as number };
}

/** A markdown table with right-aligned number columns. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]) =>
    `| ${cells.map((cell, c) => cell.padStart(widths[c] as number)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => `${'-'.repeat(w + 1)}:`).join('|')}|`, ...rows.map(line)].join(
    '\n',
  );
}
