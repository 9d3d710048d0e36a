// Part-of-speech tagging with the bidirectional RNN/LSTM encoder (lib/models/birnn.ts) on the
// tagged Brown corpus (the ANCHORS.md split, sentences of at most 60 tokens, Brown tags
// simplified): trains for some epochs (or seconds) with AdamW and global-norm clipping, then
// reports the tag accuracy on valid and test next to the most-frequent-tag baseline.
// `lmkit tag` is a thin layer over `trainTagger`.
import { loadBrownPos, mostFrequentTagBaseline, posBatches } from '../data/pos.js';
import { BiRecurrentTagger, evaluateTagger, taggerLoss } from '../models/birnn.js';
import { clipGradNorm } from '../optim/clip.js';
import { AdamW } from '../optim/optimizer.js';
import { tidy } from '../tensor.js';

export interface TagRunOptions {
  cell?: 'rnn' | 'lstm';
  embed?: number;
  hidden?: number;
  batch?: number;
  lr?: number;
  dropout?: number;
  /** Passes over the training sentences (default 1). */
  epochs?: number;
  /** Stop after this many steps (whatever the epoch). */
  steps?: number;
  /** Words seen fewer times in train become one of the unknown-word classes (default 2). */
  minCount?: number;
  seed?: number;
}

export interface TagRunResult {
  steps: number;
  seconds: number;
  tokensPerSecond: number;
  parameters: number;
  tags: number;
  vocabSize: number;
  validAccuracy: number;
  testAccuracy: number;
  baseline: { valid: number; test: number };
}

export interface TagRunEvents {
  info?: (message: string) => void;
  step?: (e: { step: number; epoch: number; loss: number; tokensPerSecond: number }) => void;
}

function positive(name: string, v: number, integer = true): number {
  if (!Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v))) {
    throw new RangeError(`tag: ${name} must be a positive ${integer ? 'integer' : 'number'}, got ${v}`);
  }
  return v;
}

export async function trainTagger(o: TagRunOptions = {}, ev: TagRunEvents = {}): Promise<TagRunResult> {
  const cell = o.cell ?? 'lstm';
  if (cell !== 'rnn' && cell !== 'lstm') throw new RangeError(`tag: cell must be 'rnn' or 'lstm', got '${String(cell)}'`);
  const embed = positive('embed', o.embed ?? 64);
  const hidden = positive('hidden', o.hidden ?? 64);
  const batch = positive('batch', o.batch ?? 32);
  const lr = positive('lr', o.lr ?? 0.01, false);
  const epochs = positive('epochs', o.epochs ?? 1);
  const seed = o.seed ?? 1;
  const data = loadBrownPos({ minCount: o.minCount ?? 2, unkClasses: true, maxLength: 60 });
  const count = (ss: readonly { ids: Int32Array }[]): number => ss.reduce((s, x) => s + x.ids.length, 0);
  const baseline = {
    valid: mostFrequentTagBaseline(data.train, data.valid, data.tagSet.size).accuracy,
    test: mostFrequentTagBaseline(data.train, data.test, data.tagSet.size).accuracy,
  };
  ev.info?.(
    `corpus brown (tagged): ${count(data.train)} train / ${count(data.valid)} valid / ${count(data.test)} test tokens, ` +
      `${data.tagSet.size} tags, vocabulary ${data.vocab.size}; most-frequent-tag baseline: test ${(100 * baseline.test).toFixed(2)}%`,
  );
  const model = new BiRecurrentTagger({
    vocabSize: data.vocab.size,
    numTags: data.tagSet.size,
    cell,
    embed,
    hidden,
    layers: 1,
    dropout: o.dropout ?? 0.2,
    seed,
    initRange: 0.1,
  });
  const optimizer = new AdamW(model.parameters(), { lr, weightDecay: 0 });
  ev.info?.(`model bi-${cell} tagger: embed ${embed}, hidden ${hidden} per direction; ${model.numParameters()} parameters; adamw lr ${lr}`);
  try {
    let step = 0;
    let tokens = 0;
    const t0 = performance.now();
    outer: for (let epoch = 0; epoch < epochs; epoch++) {
      for (const b of posBatches(data.train, batch, { shuffleSeed: seed * 1000 + epoch, sortPool: 50 })) {
        model.train();
        const loss = tidy(() => {
          const r = taggerLoss(model, b);
          const v = r.loss.item();
          if (Number.isFinite(v)) r.loss.backward();
          return v;
        });
        if (!Number.isFinite(loss)) throw new Error(`training stopped: the loss is ${loss} at step ${step + 1}; weights were not updated`);
        clipGradNorm(model.parameters(), 5);
        optimizer.step();
        optimizer.zeroGrad();
        step++;
        tokens += b.tokens;
        ev.step?.({ step, epoch, loss, tokensPerSecond: tokens / ((performance.now() - t0) / 1000) });
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (o.steps !== undefined && step >= o.steps) break outer;
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    model.eval();
    const evalBatches = (ss: typeof data.valid) => posBatches(ss, 128, { sortPool: 8 });
    const valid = evaluateTagger(model, evalBatches(data.valid));
    const test = evaluateTagger(model, evalBatches(data.test));
    return {
      steps: step,
      seconds,
      tokensPerSecond: tokens / Math.max(seconds, 1e-9),
      parameters: model.numParameters(),
      tags: data.tagSet.size,
      vocabSize: data.vocab.size,
      validAccuracy: valid.accuracy,
      testAccuracy: test.accuracy,
      baseline,
    };
  } finally {
    model.dispose();
    optimizer.dispose();
  }
}
