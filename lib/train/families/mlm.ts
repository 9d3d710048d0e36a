// The masked LM family (BERT objective): a bidirectional Transformer encoder trained to predict
// masked tokens; its perplexity is over the masked positions. It does not generate.
import { MaskedLM, type MaskedLMConfig } from '../../models/mlm.js';
import { inMemory } from '../../data/tokensource.js';
import type { NeuralFamily } from '../family.js';
import { maskedEvaluator, maskedJob } from '../jobs.js';
import { transformerConfig } from './transformer.js';

export const mlm: NeuralFamily<'mlm', MaskedLM, MaskedLMConfig> = {
  name: 'mlm',
  summary: 'masked LM (BERT objective): bidirectional Transformer encoder, masked-token perplexity',
  context: 'sequence',
  uses: ['embed', 'layers', 'heads', 'dropout'],
  describe: (c) => `${c.layers} layers, ${c.heads} heads, width ${c.embed}, context ${c.context}, dropout ${c.dropout}`,
  noGenerate: {
    error: 'generate: mlm checkpoints cannot generate text: a masked LM predicts masked tokens from both sides, it does not generate left to right',
    note: 'No samples: a masked LM predicts masked tokens from both sides; it does not generate text left to right.',
  },
  neural: {
    defaults: { batch: 16, context: 64, embed: 128, hidden: 512, layers: 2, heads: 4, lr: 1e-3, clip: 1 },
    batches: 'masked',
    config: transformerConfig,
    build: (config) => new MaskedLM(config),
    evaluator: (model, c) => maskedEvaluator(model, c),
    job: (model, c, train, shard) => maskedJob(model, c, train, maskedEvaluator(model, c), shard),
    checkTrain: (train, corpus) => {
      if (!inMemory(train)) throw new Error(`--model mlm does not stream from token files yet: train it on a text corpus, not ${corpus}`);
    },
  },
};
