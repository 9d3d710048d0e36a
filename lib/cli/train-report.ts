// The report of `lmkit train --out DIR`: collects the run's step / eval events and log lines
// (TrainReportCollector, fed by lib/cli/train.ts), then writes DIR/curves.svg and
// DIR/report.html (rendered by lib/train/report.ts) with samples of generated text from the
// saved checkpoint, drawn as `lmkit generate` does (fixed prompts and seeds).
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { WordTokenizer, type Tokenizer } from '../data/tokenizers.js';
import { decodeIds, encodeText } from '../data/training-corpus.js';
import { loadAnyTrained, type LoadedTrained } from '../train/checkpointing.js';
import { familyOf } from '../train/registry.js';
import { release } from './checkpoint-commands.js';
import { downsample, renderCurvesSvg, renderReportHtml, type CurvePoint, type ReportSample } from '../train/report.js';
import type { TrainRunResult } from '../train/run.js';

/** The samples of the report: prompt, seed; temperature and length below. */
export const REPORT_SAMPLES: readonly { prompt: string; seed: number }[] = [
  { prompt: 'The', seed: 1 },
  { prompt: 'He said that', seed: 2 },
  { prompt: 'In the', seed: 3 },
];
const SAMPLE_TOKENS = 30;
const SAMPLE_TEMPERATURE = 0.8;
/** Most loss points drawn (longer runs are averaged into this many buckets). */
const MAX_CURVE_POINTS = 2000;

export class TrainReportCollector {
  readonly loss: CurvePoint[] = [];
  readonly validPpl: CurvePoint[] = [];
  readonly log: string[] = [];

  step(step: number, loss: number): void {
    if (Number.isFinite(loss)) this.loss.push({ step, value: loss });
  }

  eval(split: string, step: number, ppl: number): void {
    if (split === 'valid' && Number.isFinite(ppl)) this.validPpl.push({ step, value: ppl });
  }

  info(line: string): void {
    this.log.push(line);
  }
}

function isWhitespaceWords(t: Tokenizer): boolean {
  return t instanceof WordTokenizer && t.split === 'whitespace';
}

function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.partial-${process.pid}`; // not the checkpoint writer's .tmp- mark
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

interface FromCheckpoint {
  tokenizer: string;
  samples: ReportSample[];
  note: string;
  /** The run's resolved options as the checkpoint recorded them. */
  options: Record<string, unknown> | null;
}

async function fromCheckpoint(dir: string): Promise<FromCheckpoint> {
  const t = loadAnyTrained(dir);
  const family = familyOf(t.kind);
  // Count-based checkpoints record the run's options beside their tables, neural ones in the training state.
  const recorded = family.counts ? t.meta.options : ((t as LoadedTrained).meta.training as { options?: unknown } | undefined)?.options;
  const options = typeof recorded === 'object' && recorded !== null ? (recorded as Record<string, unknown>) : null;
  try {
    const tokenizer = isWhitespaceWords(t.tokenizer)
      ? `word (whitespace-split, vocabulary ${t.vocab.size})`
      : `${t.tokenizer.kind} (vocabulary ${t.vocab.size})`;
    const how = `${SAMPLE_TOKENS} tokens, temperature ${SAMPLE_TEMPERATURE}, from the saved checkpoint (as \`lmkit generate\`)`;
    if (family.noGenerate) return { tokenizer, options, samples: [], note: family.noGenerate.note };
    if (!family.generate) return { tokenizer, options, samples: [], note: `No samples: generation does not support ${t.kind} models yet.` };
    const samples: ReportSample[] = [];
    for (const { prompt, seed } of REPORT_SAMPLES) {
      const ids = encodeText(t, prompt);
      const opts = { maxTokens: SAMPLE_TOKENS, temperature: SAMPLE_TEMPERATURE, seed };
      const out = await family.generate(t.model, ids, opts);
      samples.push({ prompt, seed, text: decodeIds(t, out) });
    }
    return { tokenizer, options, samples, note: `Samples: ${how}.` };
  } finally {
    release(t);
  }
}

/**
 * Writes `dir`/curves.svg and `dir`/report.html for a finished run whose checkpoint is in
 * `dir`; `config` (the CLI flags) is shown when the checkpoint records no options. Returns the paths.
 */
export async function writeTrainReport(
  dir: string,
  c: TrainReportCollector,
  result: TrainRunResult,
  config: Record<string, unknown>,
): Promise<{ svg: string; html: string }> {
  const corpus = typeof result.config?.corpus === 'string' ? result.config.corpus : typeof config.corpus === 'string' ? config.corpus : 'brown';
  // The whole run's curves: from the run's history (a resumed run's includes the steps before
  // the resume, from its checkpoint), else what this process saw.
  const h = result.history;
  const loss = h ? h.loss.map(([step, value]) => ({ step, value })) : c.loss;
  const validPpl = h ? h.valid.map(([step, value]) => ({ step, value })) : c.validPpl.slice();
  // The final validation perplexity (when no eval event carried it).
  if (Number.isFinite(result.validPpl) && validPpl.at(-1)?.step !== result.steps) validPpl.push({ step: result.steps, value: result.validPpl });
  const svg = renderCurvesSvg({ loss: downsample(loss, MAX_CURVE_POINTS), validPpl, title: `${result.model} on ${corpus}`, resumedAt: h?.resumedAt ?? [] });
  let tokenizer = '(unknown)';
  let samples: ReportSample[] = [];
  let note: string;
  let options: Record<string, unknown> | null = null;
  try {
    ({ tokenizer, samples, note, options } = await fromCheckpoint(dir));
  } catch (err) {
    note = `No samples: ${err instanceof Error ? err.message : String(err)}`;
  }
  const html = renderReportHtml({
    title: `lmkit train: ${result.model} on ${corpus}`,
    // The run's effective configuration (defaults included), else the checkpoint's options, else the flags.
    config: result.config ?? options ?? config,
    tokenizer,
    vocabSize: result.vocabSize,
    model: result.model,
    parameters: result.parameters,
    steps: result.steps,
    seconds: result.seconds,
    tokensPerSecond: result.tokensPerSecond,
    validPpl: result.validPpl,
    testPpl: result.testPpl,
    svg,
    samples,
    samplesNote: note,
    log: c.log,
    resumedAt: h?.resumedAt ?? [],
    createdAt: new Date().toISOString(),
  });
  const paths = { svg: join(dir, 'curves.svg'), html: join(dir, 'report.html') };
  writeAtomic(paths.svg, svg);
  writeAtomic(paths.html, html);
  return paths;
}
