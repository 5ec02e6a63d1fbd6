/**
 * A seeded generator for everything random outside the kernel (shuffling,
 * per-layer initializer seeds), so a seed reproduces a run bit for bit.
 */
export class Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** The generator's state, to checkpoint and restore a run. */
  get position(): number {
    return this.state;
  }

  set position(value: number) {
    this.state = value >>> 0;
  }

  /** Uniform 32-bit unsigned integer (SplitMix32-style mixing). */
  nextUint32(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 2 ** 32;
  }

  /** Fisher–Yates shuffle in place. */
  shuffle(values: Uint32Array): void {
    for (let i = values.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const t = values[i] as number;
      values[i] = values[j] as number;
      values[j] = t;
    }
  }
}

let global = new Random((Math.random() * 2 ** 32) >>> 0);

/** Seeds the generator that gives layers their initializer seeds. */
export function setRandomSeed(seed: number): void {
  global = new Random(seed);
}

/** The next seed for something that needs one. */
export function nextSeed(): number {
  return global.nextUint32();
}
