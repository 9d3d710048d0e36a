// The log-linear family: hashed n-gram features of the previous `context` tokens -> softmax.
import { LogLinearLM, type LogLinearConfig } from '../../models/loglinear.js';
import type { NeuralFamily } from '../family.js';
import { windowEvaluator, windowJob } from '../jobs.js';

export const loglinear: NeuralFamily<'loglinear', LogLinearLM, LogLinearConfig> = {
  name: 'loglinear',
  summary: 'log-linear LM: hashed n-gram features of the previous tokens, one weight table, softmax',
  context: 'previous',
  uses: ['initRange'],
  flags: [{ option: 'buckets', flags: '--buckets <n>', description: 'rows of the hashed feature table', default: 2048, min: 1 }],
  describe: (c) => `context ${c.context}, hashed n-gram features`,
  neural: {
    defaults: { batch: 256, context: 4, embed: 0, hidden: 0, layers: 1, heads: 1, lr: 2e-2 },
    batches: 'windows',
    config: (c) => ({ vocabSize: c.V, context: c.context, buckets: c.buckets, seed: c.seed, ...(c.initRange !== undefined ? { initRange: c.initRange } : {}) }),
    build: (config) => new LogLinearLM(config),
    evaluator: (model, c) => windowEvaluator(model, c),
    job: (model, c, train, shard) => windowJob(model, (x) => model.forward(x), c, train, windowEvaluator(model, c), shard),
  },
};
