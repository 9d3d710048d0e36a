// `lmkit train --init DIR` / runTraining({ init: DIR }): fine-tuning from a saved model of a
// family that supports it (its descriptor's `neural.fineTune`: the transformer, whose
// checkpoints include those of `lmkit import --from hf-gpt2`). The model's shape and its
// tokenizer come from the checkpoint: the sizes the family fixes (transformer: --embed /
// --layers / --heads) and --tokenizer that differ from it are refused, --context may be at
// most what the model takes (default: the checkpoint's training context), --dropout replaces
// the model's rate. The run starts from the checkpoint's weights with a fresh optimizer.
import type { Tokenizer } from '../data/tokenizers.js';
import { loadModuleState } from '../io/checkpoint.js';
import { loadTrained } from './checkpointing.js';
import type { Module } from '../nn/module.js';
import type { TrainRunOptions } from './options.js';
import { families, familyOf, listWords, type ModelConfig } from './registry.js';
import { flagName } from './model-flags.js';

export interface InitSource {
  dir: string;
  tokenizer: Tokenizer;
  /** The model config to build (the checkpoint's, with the run's dropout). */
  config: ModelConfig;
  /** Copies the checkpoint's weights into `model` (built from `config`). */
  load(model: Module): void;
  dispose(): void;
}

/** Opens `o.init` and returns the run's options with the model flags resolved from it. */
export function openInit(o: TrainRunOptions): { options: TrainRunOptions; init: InitSource } {
  const dir = o.init!;
  const t = loadTrained(dir);
  try {
    const tune = familyOf(t.kind).neural?.fineTune;
    if (!tune) {
      const names = families().filter((f) => f.neural?.fineTune).map((f) => f.name);
      throw new Error(
        `--init ${dir}: a ${t.kind} checkpoint; --init fine-tunes ${listWords(names)} checkpoints (${names.map((n) => `lmkit train --model ${n}`).join(', ')}, lmkit import)`,
      );
    }
    if (o.model !== undefined && o.model !== t.kind) throw new Error(`--init ${dir}: the checkpoint is a ${t.kind}, not --model ${o.model}`);
    if (o.tokenizer !== undefined) throw new Error(`--init ${dir}: the tokenizer is the checkpoint's (${t.tokenizer.kind}); leave out --tokenizer`);
    const c = t.meta.config as unknown as Record<string, number>;
    const clash: string[] = [];
    for (const k of tune.fixed) {
      const mine = o[k];
      if (mine !== undefined && mine !== c[k]) clash.push(`${flagName(k)} ${String(mine)} (the checkpoint's model has ${c[k]})`);
    }
    if (clash.length) throw new Error(`--init ${dir}: ${clash.join('; ')}: the model comes from the checkpoint; drop these flags`);
    const max = tune.maxContext(t.meta.config);
    const context = o.context ?? Math.min(t.meta.job?.context ?? max, max);
    if (context > max) throw new Error(`--init ${dir}: --context ${context} exceeds the model's ${max} positions`);
    const config = tune.withDropout(t.meta.config, o.dropout) as ModelConfig;
    const weights = new Map(t.model.namedParameters());
    const fixed = Object.fromEntries(tune.fixed.map((k) => [k, c[k]]));
    const options: TrainRunOptions = { ...o, model: t.kind, context, ...fixed, dropout: (config as { dropout?: number }).dropout! };
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
