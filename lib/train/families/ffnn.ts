// The feed-forward (Bengio et al. 2003) family: the previous `context` tokens -> the next one.
import { generateAll } from '../../generate/generate.js';
import { FeedForwardLM, type FeedForwardConfig } from '../../models/ffnn.js';
import type { NeuralFamily } from '../family.js';
import { windowEvaluator, windowJob } from '../jobs.js';

export const ffnn: NeuralFamily<'ffnn', FeedForwardLM, FeedForwardConfig> = {
  name: 'ffnn',
  summary: 'feed-forward neural LM (Bengio et al. 2003): embeddings of the previous tokens -> tanh hidden layer -> softmax',
  context: 'previous',
  uses: ['embed', 'hidden', 'initRange'],
  flags: [{ option: 'direct', flags: '--direct', description: 'direct input-to-output connections', default: false }],
  describe: (c) => `context ${c.context}, embed ${c.embed}, hidden ${c.hidden}, direct ${c.direct}`,
  generate: (model, ids, opts) => generateAll(model, ids, opts),
  neural: {
    defaults: { batch: 256, context: 4, embed: 60, hidden: 50, layers: 1, heads: 1, lr: 2e-3 },
    batches: 'windows',
    config: (c) => ({ vocabSize: c.V, context: c.context, embed: c.embed, hidden: c.hidden, direct: c.direct, seed: c.seed, ...(c.initRange !== undefined ? { initRange: c.initRange } : {}) }),
    build: (config) => new FeedForwardLM(config),
    evaluator: (model, c) => windowEvaluator(model, c),
    job: (model, c, train, shard) => windowJob(model, (x) => model.forward(x), c, train, windowEvaluator(model, c), shard),
    embedding: (m) => m.embedding.weight,
  },
};
