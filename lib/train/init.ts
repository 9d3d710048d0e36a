// `lmkit train --init DIR` / runTraining({ init: DIR }): fine-tuning from a saved transformer
// (a checkpoint of `lmkit train --out` or `lmkit import --from hf-gpt2`). The model's shape
// and its tokenizer come from the checkpoint: --embed / --layers / --heads / --tokenizer that
// differ from it are refused, --context may be at most the model's position table (default:
// the checkpoint's training context), --dropout replaces the model's rate. The run starts from
// the checkpoint's weights with a fresh optimizer.
import type { Tokenizer } from '../data/tokenizers.js';
import { loadModuleState } from '../io/checkpoint.js';
import type { TransformerConfig } from '../models/transformer.js';
import { loadTrained } from './checkpointing.js';
import type { Module } from '../nn/module.js';
import type { TrainRunOptions } from './run.js';

export interface InitSource {
  dir: string;
  tokenizer: Tokenizer;
  /** The model config to build (the checkpoint's, with the run's dropout). */
  config: TransformerConfig;
  /** Copies the checkpoint's weights into `model` (built from `config`). */
  load(model: Module): void;
  dispose(): void;
}

/** Opens `o.init` and returns the run's options with the model flags resolved from it. */
export function openInit(o: TrainRunOptions): { options: TrainRunOptions; init: InitSource } {
  const dir = o.init!;
  const t = loadTrained(dir);
  try {
    if (t.kind !== 'transformer') throw new Error(`--init ${dir}: a ${t.kind} checkpoint; --init fine-tunes transformer checkpoints (lmkit train --model transformer, lmkit import)`);
    if (o.model !== undefined && o.model !== 'transformer') throw new Error(`--init ${dir}: the checkpoint is a transformer, not --model ${o.model}`);
    if (o.tokenizer !== undefined) throw new Error(`--init ${dir}: the tokenizer is the checkpoint's (${t.tokenizer.kind}); leave out --tokenizer`);
    const c = t.meta.config as TransformerConfig;
    const clash: string[] = [];
    for (const [flag, mine, theirs] of [
      ['--embed', o.embed, c.embed],
      ['--layers', o.layers, c.layers],
      ['--heads', o.heads, c.heads],
    ] as const) {
      if (mine !== undefined && mine !== theirs) clash.push(`${flag} ${mine} (the checkpoint's model has ${theirs})`);
    }
    if (clash.length) throw new Error(`--init ${dir}: ${clash.join('; ')}: the model comes from the checkpoint; drop these flags`);
    const context = o.context ?? Math.min(t.meta.job?.context ?? c.context, c.context);
    if (context > c.context) throw new Error(`--init ${dir}: --context ${context} exceeds the model's ${c.context} positions`);
    const config: TransformerConfig = { ...c, dropout: o.dropout ?? c.dropout ?? 0 };
    const weights = new Map(t.model.namedParameters());
    const options: TrainRunOptions = { ...o, model: 'transformer', context, embed: c.embed, layers: c.layers, heads: c.heads, dropout: config.dropout! };
    return {
      options,
      init: {
        dir,
        tokenizer: t.tokenizer,
        config,
        load: (model) => void loadModuleState(model, weights),
        dispose: () => t.model.dispose(),
      },
    };
  } catch (e) {
    t.model.dispose();
    throw e;
  }
}
