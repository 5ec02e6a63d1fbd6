/**
 * The adding problem (Hochreiter & Schmidhuber 1997): sequences of T steps
 * of (value, marker); the target is the sum of the two marked values, one in
 * each half. Predicting the mean (1) gives an MSE of about 1/6.
 */
import { Random } from '../../ts/random.js';

export function addingProblem(
  samples: number,
  steps: number,
  seed: number,
): { x: Float32Array; y: Float32Array } {
  const random = new Random(seed);
  const x = new Float32Array(samples * steps * 2);
  const y = new Float32Array(samples);
  const half = Math.floor(steps / 2);
  for (let n = 0; n < samples; n++) {
    const first = Math.floor(random.next() * half);
    const second = half + Math.floor(random.next() * (steps - half));
    for (let t = 0; t < steps; t++) {
      const value = random.next();
      x[(n * steps + t) * 2] = value;
      if (t === first || t === second) {
        x[(n * steps + t) * 2 + 1] = 1;
        y[n] = (y[n] as number) + value;
      }
    }
  }
  return { x, y };
}
