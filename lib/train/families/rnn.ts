// The recurrent families (Elman RNN here, LSTM in lstm.ts): truncated BPTT over parallel
// streams, the hidden state carried from batch to batch; the output layer is tied to the
// embeddings when their sizes agree.
import { generateAll } from '../../generate/generate.js';
import { RecurrentLM, type RecurrentCell, type RecurrentConfig } from '../../models/rnn.js';
import type { NeuralFamily } from '../family.js';
import { streamEvaluator, streamJob } from '../jobs.js';

/** The family of RecurrentLM with `cell`. */
export function recurrentFamily<N extends RecurrentCell>(cell: N, summary: string): NeuralFamily<N, RecurrentLM, RecurrentConfig> {
  return {
    name: cell,
    summary,
    context: 'sequence',
    uses: ['embed', 'hidden', 'layers', 'dropout'],
    describe: (c) => `${c.layers} x ${c.hidden} (embed ${c.embed}), BPTT ${c.context}, dropout ${c.dropout}`,
    generate: (model, ids, opts) => generateAll(model, ids, opts),
    neural: {
      defaults: { batch: 20, context: 35, embed: 200, hidden: 200, layers: 1, heads: 1, lr: 2e-3, clip: 1 },
      batches: 'streams',
      config: (c) => ({
        vocabSize: c.V,
        cell,
        embed: c.embed,
        hidden: c.hidden,
        layers: c.layers,
        dropout: c.dropout,
        seed: c.seed,
        tieWeights: c.embed === c.hidden,
      }),
      build: (config) => new RecurrentLM(config),
      evaluator: (model, c) => streamEvaluator(model, c),
      job: (model, c, train) => streamJob(model, c, train, streamEvaluator(model, c)),
      embedding: (m) => m.embeddingWeight,
    },
  };
}

export const rnn = recurrentFamily('rnn', 'Elman RNN LM (tanh), truncated BPTT');
