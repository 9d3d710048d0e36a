// Learning-rate schedules: functions of the step number (0-based) giving the rate.

export type Schedule = (step: number) => number;

export const constant = (lr: number): Schedule => () => lr;

/** lr * gamma^floor(step / every). */
export const stepDecay =
  (lr: number, every: number, gamma: number): Schedule =>
  (t) =>
    lr * gamma ** Math.floor(t / every);

/** lr * gamma^step. */
export const exponential =
  (lr: number, gamma: number): Schedule =>
  (t) =>
    lr * gamma ** t;

/** Linear warm-up to lr over `warmup` steps, then cosine decay to `minLr` at `total`. */
export const warmupCosine =
  (lr: number, warmup: number, total: number, minLr = 0): Schedule =>
  (t) => {
    if (t < warmup) return (lr * (t + 1)) / warmup;
    if (t >= total) return minLr;
    const p = (t - warmup) / Math.max(1, total - warmup);
    return minLr + 0.5 * (lr - minLr) * (1 + Math.cos(Math.PI * p));
  };

/** Bengio et al. (2003): lr / (1 + r * t). */
export const inverseTime =
  (lr: number, r: number): Schedule =>
  (t) =>
    lr / (1 + r * t);
