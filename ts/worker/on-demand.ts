/**
 * Something started on first use, such as a model's workers: a start that
 * fails is forgotten, so the next use tries again; `stop` disposes it in the
 * background and the next use starts it anew.
 */
export class OnDemand<T extends { dispose(): Promise<void> }> {
  private started: Promise<T> | undefined;
  private current: T | undefined;

  constructor(private readonly start: () => Promise<T>) {}

  get(): Promise<T> {
    if (!this.started) {
      const starting = this.start();
      this.started = starting;
      starting.then(
        (value) => {
          if (this.started === starting) this.current = value;
        },
        () => {
          if (this.started === starting) this.started = undefined;
        },
      );
    }
    return this.started;
  }

  /** What was started, once it has started (and until `stop`). */
  peek(): T | undefined {
    return this.current;
  }

  /** Disposes what was started, in the background; resolves once it is disposed. */
  stop(): Promise<void> {
    const started = this.started;
    this.started = undefined;
    this.current = undefined;
    return started ? started.then((s) => s.dispose()).catch(() => {}) : Promise.resolve();
  }
}
