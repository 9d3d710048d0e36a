// `lmkit train`: trains a model on a corpus and reports validation/test perplexity.
import { loadBrown } from '../data/brown.js';
import { contextWindows, type WindowBatch } from '../data/loaders.js';
import { Vocab } from '../data/vocab.js';
import { FeedForwardLM } from '../models/ffnn.js';
import { native } from '../native/index.js';
import { crossEntropy } from '../ops/crossentropy.js';
import { AdamW, SGD, type Optimizer } from '../optim/optimizer.js';
import { Tensor } from '../tensor.js';
import { Trainer, evaluateLoss } from '../train/trainer.js';
import { Progress, formatEta } from './progress.js';

export interface TrainFlags {
  model: 'ffnn';
  corpus: 'brown';
  epochs?: number;
  steps?: number;
  batch: number;
  context: number;
  embed: number;
  hidden: number;
  direct: boolean;
  optimizer: 'sgd' | 'adamw';
  lr?: number;
  weightDecay?: number;
  minCount: number;
  seed: number;
  threads?: number;
  test: boolean;
  json?: boolean;
}

export async function runTrain(f: TrainFlags): Promise<void> {
  const emit = (o: Record<string, unknown>): void => {
    if (f.json) process.stdout.write(`${JSON.stringify(o)}\n`);
  };
  const say = (s: string): void => {
    if (f.json) process.stderr.write(`${s}\n`);
    else process.stdout.write(`${s}\n`);
  };
  if (f.threads) native.setNumThreads(f.threads);

  const corpus = loadBrown();
  const vocab = Vocab.build(corpus.train, f.minCount);
  const ids = { train: vocab.encode(corpus.train), valid: vocab.encode(corpus.valid), test: vocab.encode(corpus.test) };
  say(
    `corpus brown: ${ids.train.length} train / ${ids.valid.length} valid / ${ids.test.length} test tokens, ` +
      `vocabulary ${vocab.size} (min count ${f.minCount})`,
  );

  const model = new FeedForwardLM({
    vocabSize: vocab.size,
    context: f.context,
    embed: f.embed,
    hidden: f.hidden,
    direct: f.direct,
    seed: f.seed,
  });
  const optimizer: Optimizer =
    f.optimizer === 'sgd'
      ? new SGD(model.parameters(), { lr: f.lr ?? 0.5, momentum: 0.9, weightDecay: f.weightDecay ?? 0 })
      : new AdamW(model.parameters(), { lr: f.lr ?? 2e-3, weightDecay: f.weightDecay ?? 0 });
  say(
    `model ffnn: context ${f.context}, embed ${f.embed}, hidden ${f.hidden}, direct ${f.direct}; ` +
      `${model.numParameters()} parameters; ${f.optimizer} lr ${optimizer.lr}; ${native.numThreads()} threads`,
  );

  const toTensors = (b: WindowBatch) => ({
    x: Tensor.fromArray(b.inputs, [b.size, f.context], 'int32'),
    y: Tensor.fromArray(b.targets, [b.size], 'int32'),
  });
  const trainer = new Trainer<WindowBatch>(model, optimizer, (b) => {
    const { x, y } = toTensors(b);
    return { loss: crossEntropy(model.forward(x), y), tokens: b.size };
  });
  const evaluate = (split: Int32Array) => {
    model.eval();
    const r = evaluateLoss(contextWindows(split, f.context, 1024), (b) => {
      const { x, y } = toTensors(b);
      return { sum: crossEntropy(model.forward(x), y, { reduction: 'sum' }), tokens: b.size };
    });
    model.train();
    return r;
  };

  const stepsPerEpoch = Math.ceil((ids.train.length - f.context) / f.batch);
  const epochs = f.epochs ?? (f.steps ? undefined : 1);
  const total = f.steps ?? stepsPerEpoch * (epochs ?? 1);
  const progress = new Progress(f.json ? null : total);
  const t0 = performance.now();
  const result = await trainer.fit({
    batches: (epoch) => contextWindows(ids.train, f.context, f.batch, { shuffle: true, seed: f.seed * 1000 + epoch }),
    epochs,
    steps: f.steps,
    evaluate: () => evaluate(ids.valid),
    onStep: (e) => {
      if (e.step % 50 === 0 || e.step === total) emit({ event: 'step', step: e.step, loss: e.loss, tokens_per_s: e.tokensPerSecond });
      const elapsed = (performance.now() - t0) / 1000;
      progress.update(e.step, {
        loss: e.loss.toFixed(3),
        'tok/s': e.tokensPerSecond.toFixed(0),
        eta: formatEta((elapsed / e.step) * (total - e.step)),
      });
    },
    onEval: (e) => {
      progress.done();
      emit({ event: 'eval', split: 'valid', step: e.step, loss: e.loss, ppl: e.ppl });
      if (!f.json) say(`step ${e.step}: valid loss ${e.loss.toFixed(4)}, perplexity ${e.ppl.toFixed(1)}`);
    },
  });
  let testPpl: number | null = null;
  if (f.test) {
    const t = evaluate(ids.test);
    testPpl = t.ppl;
    emit({ event: 'eval', split: 'test', loss: t.loss, ppl: t.ppl });
    if (!f.json) say(`test loss ${t.loss.toFixed(4)}, perplexity ${t.ppl.toFixed(1)}`);
  }
  const valid = evaluate(ids.valid);
  emit({
    event: 'done',
    steps: result.steps,
    tokens_per_s: result.tokensPerSecond,
    valid_ppl: valid.ppl,
    test_ppl: testPpl,
    checkpoint: null,
  });
  say(
    `done: ${result.steps} steps in ${result.seconds.toFixed(1)} s, ${result.tokensPerSecond.toFixed(0)} training tokens/s, ` +
      `valid perplexity ${valid.ppl.toFixed(1)}${testPpl !== null ? `, test perplexity ${testPpl.toFixed(1)}` : ''}`,
  );
  model.dispose();
  optimizer.dispose();
}
