// `lmkit import --from hf-gpt2 DIR --out CK` and `lmkit export --to hf-gpt2 CK DIR`: models in
// the formats of other ecosystems to and from lmkit checkpoints. The formats are the family
// descriptors' (lib/train/registry.ts: the transformer's `hf-gpt2`, the Hugging Face GPT-2
// layout of lib/io/hf-gpt2.ts).
// The import validates the whole directory and builds the model before anything is written;
// the checkpoint itself is then written atomically (saveCheckpoint), so a failed import leaves
// --out as it was.
import { existsSync, statSync } from 'node:fs';

import { native } from '../native/index.js';
import { loadTrained, saveTrained } from '../train/checkpointing.js';
import { pretrainedFormats } from '../train/registry.js';

/** The formats of `--from` / `--to` ('hf-gpt2'). */
export const PRETRAINED_FORMATS: readonly string[] = pretrainedFormats().map((f) => f.name);

function formatOf(name: string): ReturnType<typeof pretrainedFormats>[number] {
  const f = pretrainedFormats().find((x) => x.name === name);
  if (!f) throw new Error(`unknown format '${name}' (one of ${PRETRAINED_FORMATS.join(', ')})`);
  return f;
}

export interface ImportFlags {
  from: string;
  out: string;
  dropout?: number;
  threads?: number;
}

export function runImport(dir: string, f: ImportFlags): void {
  if (f.threads) native.setNumThreads(f.threads);
  const { family, format } = formatOf(f.from);
  const p = format.load(dir, f.dropout !== undefined ? { dropout: f.dropout } : {});
  try {
    saveTrained(f.out, { kind: family.name, config: p.config, job: p.job, model: p.model, tokenizer: p.tokenizer, step: 0 });
    process.stdout.write(
      `imported ${dir}: ${p.summary}, ` +
        `vocabulary ${p.config.vocabSize} (${p.model.numParameters()} parameters), ${p.tokenizer.kind} tokenizer -> checkpoint ${f.out}\n`,
    );
  } finally {
    p.model.dispose();
  }
}

export interface ExportFlags {
  to: string;
  threads?: number;
}

export function runExport(ck: string, dir: string, f: ExportFlags): void {
  if (f.threads) native.setNumThreads(f.threads);
  const { name, family, format } = formatOf(f.to);
  if (!existsSync(ck)) throw new Error(`checkpoint directory ${ck} does not exist`);
  if (!statSync(ck).isDirectory()) throw new Error(`checkpoint ${ck} is not a directory`);
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new Error(`export: ${dir} exists and is not a directory`);
  const t = loadTrained(ck);
  try {
    if (t.kind !== family.name) {
      throw new Error(`export --to ${name}: checkpoint ${ck} holds a ${t.kind} model; only ${family.name} checkpoints are ${format.label}s`);
    }
    const files = format.save(dir, t.model, { tokenizer: t.tokenizer });
    const note =
      t.tokenizer.kind === 'hf-bpe' || t.tokenizer.kind === 'gpt2' ? '' : ` (tokenizer: lmkit's ${t.tokenizer.kind}, which has no Hugging Face form; not written)`;
    process.stdout.write(`exported ${ck} -> ${dir}: ${files.join(', ')}${note}\n`);
  } finally {
    t.model.dispose();
  }
}
