// `lmkit import --from hf-gpt2 DIR --out CK` and `lmkit export --to hf-gpt2 CK DIR`: GPT-2 in the
// Hugging Face layout (lib/io/hf-gpt2.ts) to and from lmkit checkpoints.
// The import validates the whole directory and builds the model before anything is written;
// the checkpoint itself is then written atomically (saveCheckpoint), so a failed import leaves
// --out as it was.
import { existsSync, statSync } from 'node:fs';

import { loadPretrained, savePretrained } from '../io/hf-gpt2.js';
import { TransformerLM } from '../models/transformer.js';
import { native } from '../native/index.js';
import { loadTrained, saveTrained } from '../train/checkpointing.js';
import type { JobConfig } from '../train/run.js';

export const PRETRAINED_FORMATS = ['hf-gpt2'] as const;

export interface ImportFlags {
  from: (typeof PRETRAINED_FORMATS)[number];
  out: string;
  dropout?: number;
  threads?: number;
}

export function runImport(dir: string, f: ImportFlags): void {
  if (f.threads) native.setNumThreads(f.threads);
  const p = loadPretrained(dir, f.dropout !== undefined ? { dropout: f.dropout } : {});
  try {
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
    saveTrained(f.out, { kind: 'transformer', config: c, job, model: p.model, tokenizer: p.tokenizer, step: 0 });
    process.stdout.write(
      `imported ${dir}: GPT-2 with ${c.layers} layers, ${c.heads} heads, width ${c.embed}, context ${c.context}, ` +
        `vocabulary ${c.vocabSize} (${p.model.numParameters()} parameters), ${p.tokenizer.kind} tokenizer -> checkpoint ${f.out}\n`,
    );
  } finally {
    p.model.dispose();
  }
}

export interface ExportFlags {
  to: (typeof PRETRAINED_FORMATS)[number];
  threads?: number;
}

export function runExport(ck: string, dir: string, f: ExportFlags): void {
  if (f.threads) native.setNumThreads(f.threads);
  if (!existsSync(ck)) throw new Error(`checkpoint directory ${ck} does not exist`);
  if (!statSync(ck).isDirectory()) throw new Error(`checkpoint ${ck} is not a directory`);
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new Error(`export: ${dir} exists and is not a directory`);
  const t = loadTrained(ck);
  try {
    if (t.kind !== 'transformer' || !(t.model instanceof TransformerLM)) {
      throw new Error(`export --to hf-gpt2: checkpoint ${ck} holds a ${t.kind} model; only transformer checkpoints are GPT-2s`);
    }
    const files = savePretrained(dir, t.model, { tokenizer: t.tokenizer });
    const note =
      t.tokenizer.kind === 'hf-bpe' || t.tokenizer.kind === 'gpt2' ? '' : ` (tokenizer: lmkit's ${t.tokenizer.kind}, which has no Hugging Face form; not written)`;
    process.stdout.write(`exported ${ck} -> ${dir}: ${files.join(', ')}${note}\n`);
  } finally {
    t.model.dispose();
  }
}
