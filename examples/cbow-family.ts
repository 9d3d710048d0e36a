// A model family of your own (docs/adding-a-model-family.md): a continuous bag-of-words LM
// (the mean of the previous tokens' embeddings -> a linear layer -> softmax over the
// vocabulary), described once by a descriptor and registered with registerFamily(). Then
// runTraining trains it, saves a checkpoint, and loadTrained / evaluateModel load and score it
// as they do the built-in families.
//   npm run build:ts && npx tsc -p examples && node examples/dist/cbow-family.js [--out DIR]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import {
  Embedding,
  Linear,
  Module,
  evaluateModel,
  loadTrained,
  mean,
  registerFamily,
  runTraining,
  windowEvaluator,
  windowJob,
  type ModelKind,
  type NeuralFamily,
  type NeuralKind,
  type NeuralModel,
  type Tensor,
} from 'lmkit';

// ---- the model: an ordinary lmkit Module -------------------------------------------------------

export interface CbowConfig {
  vocabSize: number;
  context: number;
  embed: number;
  seed?: number;
}

export class CbowLM extends Module {
  readonly embedding: Embedding;
  readonly output: Linear;

  constructor(readonly config: CbowConfig) {
    super();
    this.embedding = this.module('embedding', new Embedding(config.vocabSize, config.embed, { seed: config.seed ?? 1 }));
    this.output = this.module('output', new Linear(config.embed, config.vocabSize, { seed: (config.seed ?? 1) + 10 }));
  }

  /** ids (B, context) int32 -> logits (B, V). */
  forward(ids: Tensor): Tensor {
    return this.output.forward(mean(this.embedding.forward(ids), 1));
  }
}

// ---- the family: everything the trainer, checkpoints and the CLI need to know ------------------

export const cbow: NeuralFamily<'cbow', CbowLM, CbowConfig> = {
  name: 'cbow',
  summary: "continuous bag-of-words LM: the mean of the previous tokens' embeddings -> softmax",
  context: 'previous', // --context: previous tokens seen
  uses: ['embed'], // the shared shape flags it reads (others given to it are warned about)
  describe: (c) => `context ${c.context}, embed ${c.embed}, mean of the embeddings`,
  // No `generate`: lmkit generate refuses its checkpoints with a clear message.
  neural: {
    defaults: { batch: 64, context: 4, embed: 32, hidden: 0, layers: 1, heads: 1, lr: 1e-2 },
    batches: 'windows', // fixed-context windows -> the next token (jobs.ts)
    config: (c) => ({ vocabSize: c.V, context: c.context, embed: c.embed, seed: c.seed }),
    build: (config) => new CbowLM(config),
    evaluator: (model, c) => windowEvaluator(model, c),
    job: (model, c, train, shard) => windowJob(model, (x) => model.forward(x), c, train, windowEvaluator(model, c), shard),
    embedding: (model) => model.embedding.weight, // lmkit embed --neighbors
  },
};

registerFamily(cbow);

// ---- use it ------------------------------------------------------------------------------------

const { values } = parseArgs({ options: { out: { type: 'string' }, steps: { type: 'string', default: '200' } } });
const out = values.out ?? mkdtempSync(join(tmpdir(), 'lmkit-cbow-'));
// A small corpus with structure to learn: template sentences over a few words.
const nouns = ['cat', 'dog', 'bird', 'fish', 'fox'];
const verbs = ['sees', 'likes', 'chases'];
let s = 7;
const pick = <T>(a: readonly T[]): T => ((s = (s * 1103515245 + 12345) % 2147483648), a[Math.floor(s / 65536) % a.length]!);
const text = Array.from({ length: 600 }, () => `the ${pick(nouns)} ${pick(verbs)} a ${pick(nouns)} .`).join('\n');

const r = await runTraining({
  model: 'cbow' as ModelKind, // a registered family's name (ModelKind lists the built-in ones)
  corpus: { text },
  tokenizer: 'word',
  minCount: 1,
  steps: Number(values.steps),
  context: 3,
  seed: 1,
  out,
});
console.log(`trained cbow: ${r.parameters} parameters, ${r.steps} steps, valid perplexity ${r.validPpl.toFixed(2)}, test ${r.testPpl?.toFixed(2)}`);

// The checkpoint loads back through the registry, and scores the same text the same way.
const t = loadTrained(out);
const ids = t.tokenizer.encode(text.slice(-2000));
const again = evaluateModel(t.kind as NeuralKind, t.model as NeuralModel, t.meta.job!, ids);
console.log(`loaded ${t.kind} from ${out}: ${t.model.numParameters()} parameters; perplexity on the last 2000 characters ${again.ppl.toFixed(2)}`);
t.model.dispose();
if (values.out === undefined) rmSync(out, { recursive: true, force: true });
