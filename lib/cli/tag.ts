// `lmkit tag`: part-of-speech tagging of Brown with the bidirectional RNN/LSTM encoder.
import { native } from '../native/index.js';
import { trainTagger, type TagRunOptions } from '../train/tagging.js';

export type TagFlags = TagRunOptions & { threads?: number; json?: boolean };

export async function runTag(f: TagFlags): Promise<void> {
  const say = (s: string): void => void (f.json ? process.stderr : process.stdout).write(`${s}\n`);
  if (f.threads) native.setNumThreads(f.threads);
  const r = await trainTagger(f, {
    info: say,
    step: (e) => {
      if (e.step % 100 === 0) {
        if (f.json) process.stdout.write(`${JSON.stringify({ event: 'step', step: e.step, loss: e.loss, tokens_per_s: e.tokensPerSecond })}\n`);
        else say(`step ${e.step} (epoch ${e.epoch}): loss ${e.loss.toFixed(4)}, ${e.tokensPerSecond.toFixed(0)} tokens/s`);
      }
    },
  });
  if (f.json) {
    process.stdout.write(
      `${JSON.stringify({ event: 'done', steps: r.steps, seconds: r.seconds, tokens_per_s: r.tokensPerSecond, valid_accuracy: r.validAccuracy, test_accuracy: r.testAccuracy, baseline_test_accuracy: r.baseline.test })}\n`,
    );
  }
  say(
    `done: ${r.steps} steps in ${r.seconds.toFixed(1)} s; tag accuracy valid ${(100 * r.validAccuracy).toFixed(2)}%, ` +
      `test ${(100 * r.testAccuracy).toFixed(2)}% (most-frequent-tag baseline ${(100 * r.baseline.test).toFixed(2)}%)`,
  );
}
