// The Mamba family: selective state-space blocks (d_state 16, expand 2, d_conv 4), trained on
// causal windows like the Transformer; generation recomputes a window of recent tokens.
import { generateAll } from '../../generate/generate.js';
import { MambaLM, type MambaConfig } from '../../models/mamba.js';
import type { NeuralFamily } from '../family.js';
import { sequenceEvaluator, sequenceJob } from '../jobs.js';

export const mamba: NeuralFamily<'mamba', MambaLM, MambaConfig> = {
  name: 'mamba',
  summary: 'Mamba LM: selective state-space (S6) blocks with a causal convolution',
  context: 'sequence',
  uses: ['embed', 'layers'],
  describe: (c) => `${c.layers} blocks, width ${c.embed}, d_state 16, expand 2, d_conv 4, context ${c.context}`,
  generate: (model, ids, opts) => generateAll(model, ids, opts),
  neural: {
    defaults: { batch: 16, context: 64, embed: 128, hidden: 0, layers: 2, heads: 1, lr: 2e-3, clip: 1 },
    batches: 'sequences',
    config: (c) => ({ vocabSize: c.V, embed: c.embed, layers: c.layers, seed: c.seed }),
    build: (config) => new MambaLM(config),
    evaluator: (model, c) => sequenceEvaluator(model, c),
    job: (model, c, train, shard) => sequenceJob(model, c, train, sequenceEvaluator(model, c), shard),
    embedding: (m) => m.tokenEmbedding,
  },
};
