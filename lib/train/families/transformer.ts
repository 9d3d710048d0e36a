// The causal Transformer family (GPT-2 style: pre-norm blocks, learned positions, tied output).
// Its `hf-gpt2` format is the Hugging Face GPT-2 layout (lib/io/hf-gpt2.ts: `lmkit import`,
// `lmkit export`), and --init fine-tunes its checkpoints (an imported GPT-2 included): the
// shape comes from the checkpoint, --context may be at most its position table.
import { generateAll } from '../../generate/generate.js';
import { loadPretrained, savePretrained } from '../../io/hf-gpt2.js';
import { TransformerLM, type TransformerConfig } from '../../models/transformer.js';
import type { JobConfig, NeuralFamily } from '../family.js';
import { sequenceEvaluator, sequenceJob } from '../jobs.js';

/** The Transformer-shaped constructor config of a job (shared with the masked LM). */
export function transformerConfig(c: JobConfig): TransformerConfig {
  return {
    vocabSize: c.V,
    context: c.context,
    embed: c.embed,
    heads: c.heads,
    layers: c.layers,
    dropout: c.dropout,
    seed: c.seed,
  };
}

export const transformer: NeuralFamily<'transformer', TransformerLM, TransformerConfig> = {
  name: 'transformer',
  summary: 'causal Transformer LM (GPT-2 style): pre-norm blocks, learned positions, tied output layer',
  context: 'sequence',
  uses: ['embed', 'layers', 'heads', 'dropout'],
  describe: (c) => `${c.layers} layers, ${c.heads} heads, width ${c.embed}, context ${c.context}, dropout ${c.dropout}`,
  generate: (model, ids, opts) => generateAll(model, ids, opts),
  neural: {
    defaults: { batch: 16, context: 64, embed: 128, hidden: 512, layers: 2, heads: 4, lr: 1e-3, clip: 1 },
    batches: 'sequences',
    config: transformerConfig,
    build: (config) => new TransformerLM(config),
    evaluator: (model, c) => sequenceEvaluator(model, c),
    job: (model, c, train, shard) => sequenceJob(model, c, train, sequenceEvaluator(model, c), shard),
    embedding: (m) => m.tokenEmbedding,
    fineTune: {
      fixed: ['embed', 'layers', 'heads'],
      maxContext: (c) => c.context,
      withDropout: (c, dropout) => ({ ...c, dropout: dropout ?? c.dropout ?? 0 }),
    },
    formats: {
      'hf-gpt2': {
        label: 'GPT-2',
        load: (dir, opts) => {
          const p = loadPretrained(dir, opts.dropout !== undefined ? { dropout: opts.dropout } : {});
          const c = p.config;
          // The training setup `lmkit eval` and `lmkit train --init` read: the model's full context.
          const job: JobConfig = {
            V: c.vocabSize,
            batch: 8,
            context: c.context,
            embed: c.embed,
            hidden: 4 * c.embed,
            layers: c.layers,
            heads: c.heads,
            dropout: c.dropout ?? 0,
            seed: c.seed ?? 1,
            direct: false,
            buckets: 0,
          };
          const summary = `GPT-2 with ${c.layers} layers, ${c.heads} heads, width ${c.embed}, context ${c.context}`;
          return { model: p.model, config: c, tokenizer: p.tokenizer, job, summary };
        },
        save: (dir, model, opts) => savePretrained(dir, model, opts),
      },
    },
  },
};
