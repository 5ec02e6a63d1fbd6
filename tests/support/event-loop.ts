/**
 * How long this thread's event loop went without a turn while `work` ran: a
 * 5 ms timer notes the longest gap between its ticks.
 */
export async function eventLoopGaps(
  work: () => Promise<unknown>,
): Promise<{ elapsedMs: number; longestGapMs: number }> {
  const started = performance.now();
  let last = started;
  let longestGapMs = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    longestGapMs = Math.max(longestGapMs, now - last);
    last = now;
  }, 5);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return { elapsedMs: performance.now() - started, longestGapMs };
}
