/**
 * Something started on first use, such as a model's workers: a start that
 * fails is forgotten, so the next use tries again; `stop` disposes it in the
 * background and the next use starts it anew.
 */
export class OnDemand<T extends { dispose(): Promise<void> }> {
  private started: Promise<T> | undefined;

  constructor(private readonly start: () => Promise<T>) {}

  get(): Promise<T> {
    if (!this.started) {
      const starting = this.start();
      this.started = starting;
      starting.catch(() => {
        if (this.started === starting) this.started = undefined;
      });
    }
    return this.started;
  }

  stop(): void {
    const started = this.started;
    this.started = undefined;
    started?.then((s) => s.dispose()).catch(() => {});
  }
}
