// GPT-2 in the Hugging Face layout, read into and written from lmkit's TransformerLM.
//
// A Hugging Face GPT-2 directory holds
//   config.json        { model_type: "gpt2", n_layer, n_head, n_embd, n_positions, vocab_size, ... }
//   model.safetensors  the weights (F32), named `transformer.<...>` (GPT2LMHeadModel) or without
//                      the prefix (GPT2Model, as the original `gpt2` upload)
//   vocab.json, merges.txt   the byte-level BPE (optional here)
// Tensor names and their lmkit counterparts (C = n_embd, V = vocab_size, P = n_positions):
//   wte.weight (V,C)                 tokenEmbedding (also the tied output projection, lm_head)
//   wpe.weight (P,C)                 positionEmbedding
//   h.N.ln_1.weight/bias (C)         blocks.N.ln1.weight/bias
//   h.N.attn.c_attn.weight (C,3C)    blocks.N.attn.qkv.weight (3C,C)  transposed: HF's Conv1D keeps
//   h.N.attn.c_attn.bias (3C)        blocks.N.attn.qkv.bias            weights as (in, out), lmkit's
//   h.N.attn.c_proj.weight (C,C)     blocks.N.attn.proj.weight         Linear as (out, in)
//   h.N.ln_2.weight/bias (C)         blocks.N.ln2.weight/bias
//   h.N.mlp.c_fc.weight (C,4C)       blocks.N.mlp.fc.weight (4C,C)
//   h.N.mlp.c_proj.weight (4C,C)     blocks.N.mlp.proj.weight (C,4C)
//   ln_f.weight/bias (C)             lnFinal.weight/bias
// `h.N.attn.bias` / `h.N.attn.masked_bias` (the causal-mask buffers older exports carry) are
// ignored; `lm_head.weight`, when present, must equal wte (lmkit's output is tied).
//
// lmkit's transformer is GPT-2's architecture as it stands (tests/io/hf-gpt2.test.ts checks it
// against a PyTorch reference): learned positions, pre-LN blocks, fused qkv with biases, scores
// scaled by 1/sqrt(head size), GELU's tanh approximation ("gelu_new"), layer-norm eps 1e-5, final
// layer norm, tied output. Configs asking for something else (another activation or epsilon,
// n_inner != 4 n_embd, scale_attn_by_inverse_layer_idx, cross-attention, untied lm_head) are
// refused with the field named. Dropout: lmkit has one rate for the embeddings and the residual
// branches (config resid_pdrop) and none on the attention probabilities.
//
// Every problem is thrown as an HfGpt2Error whose message is one line naming the directory and
// what is wrong; loadPretrained validates everything before it builds the model.
import fs from 'node:fs';
import path from 'node:path';

import { Gpt2Tokenizer, GPT2_VOCAB_SIZE, HfBpeTokenizer, gpt2TokenizerFiles, type Tokenizer } from '../data/tokenizers.js';
import { TransformerLM, type TransformerConfig } from '../models/transformer.js';
import { Tensor, formatShape } from '../tensor.js';
import { SafetensorsError, SafetensorsFile, writeSafetensors, type SafetensorsEntry } from './safetensors.js';

export class HfGpt2Error extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HfGpt2Error';
  }
}

/** The fields of a Hugging Face GPT2Config that lmkit reads. */
export interface HfGpt2Config {
  model_type: 'gpt2';
  vocab_size: number;
  n_positions: number;
  n_embd: number;
  n_layer: number;
  n_head: number;
  [key: string]: unknown;
}

export interface LoadPretrainedOptions {
  /** Dropout of the built model (training only). Default: config.json's resid_pdrop, else 0.1 (GPT-2's). */
  dropout?: number;
  /** Seed of the model's dropout masks. Default 1. */
  seed?: number;
}

export interface Pretrained {
  model: TransformerLM;
  /** The model's TransformerConfig (what an lmkit checkpoint stores). */
  config: TransformerConfig;
  /** From vocab.json + merges.txt, or the GPT-2 tokenizer when the directory has neither. */
  tokenizer: Tokenizer;
  /** config.json as read. */
  hfConfig: HfGpt2Config;
}

const MASK_BUFFER_RE = /^h\.\d+\.attn\.(bias|masked_bias)$/;

function fail(dir: string, what: string): never {
  throw new HfGpt2Error(`${dir}: ${what}`);
}

function posInt(dir: string, cfg: Record<string, unknown>, key: string): number {
  const v = cfg[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) fail(dir, `config.json: ${key} must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

/** Reads and checks config.json. */
export function readHfGpt2Config(dir: string): HfGpt2Config {
  const file = path.join(dir, 'config.json');
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) fail(dir, 'not a directory');
  if (!fs.existsSync(file)) fail(dir, 'no config.json (not a Hugging Face model directory)');
  let cfg: unknown;
  try {
    cfg = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    fail(dir, `config.json is not valid JSON (${(e as Error).message})`);
  }
  if (typeof cfg !== 'object' || cfg === null || Array.isArray(cfg)) fail(dir, 'config.json is not a JSON object');
  const c = cfg as Record<string, unknown>;
  if (c.model_type !== 'gpt2') fail(dir, `config.json: model_type is ${JSON.stringify(c.model_type)}, not "gpt2" (only GPT-2 is supported)`);
  const embed = posInt(dir, c, 'n_embd');
  const heads = posInt(dir, c, 'n_head');
  posInt(dir, c, 'n_layer');
  posInt(dir, c, 'n_positions');
  posInt(dir, c, 'vocab_size');
  if (embed % heads !== 0) fail(dir, `config.json: n_embd (${embed}) is not a multiple of n_head (${heads})`);
  const act = c.activation_function ?? 'gelu_new';
  if (act !== 'gelu_new' && act !== 'gelu_pytorch_tanh') {
    fail(dir, `config.json: activation_function ${JSON.stringify(act)} is not supported (lmkit's transformer uses GELU's tanh approximation, "gelu_new")`);
  }
  const eps = c.layer_norm_epsilon ?? 1e-5;
  if (eps !== 1e-5) fail(dir, `config.json: layer_norm_epsilon ${JSON.stringify(eps)} is not supported (lmkit's transformer uses 1e-5)`);
  if (c.n_inner !== undefined && c.n_inner !== null && c.n_inner !== 4 * embed) {
    fail(dir, `config.json: n_inner ${JSON.stringify(c.n_inner)} is not supported (lmkit's MLP is 4 * n_embd = ${4 * embed})`);
  }
  if (c.scale_attn_weights === false) fail(dir, 'config.json: scale_attn_weights false is not supported');
  if (c.scale_attn_by_inverse_layer_idx === true) fail(dir, 'config.json: scale_attn_by_inverse_layer_idx true is not supported');
  if (c.add_cross_attention === true) fail(dir, 'config.json: add_cross_attention true is not supported');
  if (c.tie_word_embeddings === false) fail(dir, 'config.json: tie_word_embeddings false is not supported (lmkit ties the output to wte)');
  return c as HfGpt2Config;
}

/** The HF tensor names (without the `transformer.` prefix) and shapes of a GPT-2 of `cfg`. */
export function hfGpt2Shapes(cfg: Pick<HfGpt2Config, 'vocab_size' | 'n_positions' | 'n_embd' | 'n_layer'>): Map<string, number[]> {
  const C = cfg.n_embd;
  const m = new Map<string, number[]>([
    ['wte.weight', [cfg.vocab_size, C]],
    ['wpe.weight', [cfg.n_positions, C]],
  ]);
  for (let l = 0; l < cfg.n_layer; l++) {
    const p = `h.${l}.`;
    m.set(p + 'ln_1.weight', [C]).set(p + 'ln_1.bias', [C]);
    m.set(p + 'attn.c_attn.weight', [C, 3 * C]).set(p + 'attn.c_attn.bias', [3 * C]);
    m.set(p + 'attn.c_proj.weight', [C, C]).set(p + 'attn.c_proj.bias', [C]);
    m.set(p + 'ln_2.weight', [C]).set(p + 'ln_2.bias', [C]);
    m.set(p + 'mlp.c_fc.weight', [C, 4 * C]).set(p + 'mlp.c_fc.bias', [4 * C]);
    m.set(p + 'mlp.c_proj.weight', [4 * C, C]).set(p + 'mlp.c_proj.bias', [C]);
  }
  m.set('ln_f.weight', [C]).set('ln_f.bias', [C]);
  return m;
}

/** lmkit parameter name of an HF name (no prefix), and whether the weight is a transposed Conv1D. */
function lmkitName(hf: string): { name: string; transpose: boolean } {
  if (hf === 'wte.weight') return { name: 'tokenEmbedding', transpose: false };
  if (hf === 'wpe.weight') return { name: 'positionEmbedding', transpose: false };
  if (hf.startsWith('ln_f.')) return { name: 'lnFinal.' + hf.slice(5), transpose: false };
  const m = /^h\.(\d+)\.(.*)\.(weight|bias)$/.exec(hf);
  if (!m) throw new Error(`internal: unmapped GPT-2 tensor ${hf}`);
  const sub: Record<string, string> = { ln_1: 'ln1', ln_2: 'ln2', 'attn.c_attn': 'attn.qkv', 'attn.c_proj': 'attn.proj', 'mlp.c_fc': 'mlp.fc', 'mlp.c_proj': 'mlp.proj' };
  const s = sub[m[2]!];
  if (s === undefined) throw new Error(`internal: unmapped GPT-2 tensor ${hf}`);
  return { name: `blocks.${m[1]}.${s}.${m[3]}`, transpose: m[3] === 'weight' && !s.startsWith('ln') };
}

/** (rows, cols) row-major -> (cols, rows). */
function transpose2d(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let c = 0; c < cols; c++) out[c * rows + r] = a[base + c]!;
  }
  return out;
}

function sameData(a: Tensor, b: Tensor): boolean {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) return false;
  const x = a.toArray();
  const y = b.toArray();
  for (let i = 0; i < x.length; i++) if (!Object.is(x[i], y[i])) return false;
  return true;
}

/** The tokenizer of an HF directory: vocab.json + merges.txt, else GPT-2's (vocab_size 50257 only). */
export function readHfTokenizer(dir: string, vocabSize: number): Tokenizer {
  const v = path.join(dir, 'vocab.json');
  const m = path.join(dir, 'merges.txt');
  const hasV = fs.existsSync(v);
  const hasM = fs.existsSync(m);
  if (hasV !== hasM) fail(dir, `has ${hasV ? 'vocab.json' : 'merges.txt'} but not ${hasV ? 'merges.txt' : 'vocab.json'} (the tokenizer needs both)`);
  let tok: Tokenizer;
  if (hasV) {
    try {
      tok = HfBpeTokenizer.fromFiles(fs.readFileSync(v, 'utf8'), fs.readFileSync(m, 'utf8'));
    } catch (e) {
      fail(dir, `bad tokenizer files: ${(e as Error).message}`);
    }
  } else {
    if (vocabSize !== GPT2_VOCAB_SIZE) {
      fail(dir, `no vocab.json + merges.txt, and vocab_size ${vocabSize} is not GPT-2's ${GPT2_VOCAB_SIZE} (the GPT-2 tokenizer cannot serve it)`);
    }
    tok = new Gpt2Tokenizer();
  }
  if (tok.vocabSize !== vocabSize) fail(dir, `the tokenizer has ${tok.vocabSize} tokens but config.json's vocab_size is ${vocabSize}`);
  return tok;
}

/** Reads a Hugging Face GPT-2 directory into a TransformerLM (on the default device) and its tokenizer. */
export function loadPretrained(dir: string, opts: LoadPretrainedOptions = {}): Pretrained {
  const hf = readHfGpt2Config(dir);
  const weightsFile = path.join(dir, 'model.safetensors');
  if (!fs.existsSync(weightsFile)) {
    if (fs.existsSync(path.join(dir, 'model.safetensors.index.json'))) fail(dir, 'sharded safetensors (model.safetensors.index.json) are not supported; merge the shards into one model.safetensors');
    if (fs.existsSync(path.join(dir, 'pytorch_model.bin'))) {
      fail(dir, 'has only pytorch_model.bin (a PyTorch pickle, which lmkit does not read); save it as model.safetensors (save_pretrained(..., safe_serialization=True))');
    }
    fail(dir, 'no model.safetensors');
  }
  const tokenizer = readHfTokenizer(dir, hf.vocab_size);
  // The weights are read one tensor at a time, straight into the model's parameters: the peak
  // memory is the model plus about one tensor, not the model plus the whole file.
  let file: SafetensorsFile;
  try {
    file = SafetensorsFile.open(weightsFile);
  } catch (e) {
    if (e instanceof SafetensorsError) fail(dir, `model.safetensors: ${e.problem}`);
    throw e;
  }
  try {
    const expected = hfGpt2Shapes(hf);
    const given = new Map<string, SafetensorsEntry>();
    let lmHead: SafetensorsEntry | undefined;
    const problems: string[] = [];
    for (const e of file.header.entries) {
      const rawName = e.name;
      const name = rawName.startsWith('transformer.') ? rawName.slice('transformer.'.length) : rawName;
      if (rawName === 'lm_head.weight') lmHead = e;
      else if (MASK_BUFFER_RE.test(name)) continue;
      else if (!expected.has(name)) problems.push(`unexpected tensor ${rawName}`);
      else if (given.has(name)) problems.push(`tensor ${name} given twice`);
      else given.set(name, e);
    }
    for (const [name, shape] of expected) {
      const e = given.get(name);
      if (!e) problems.push(`missing tensor ${name} ${formatShape(shape)}`);
      else if (e.dtype !== 'F32') problems.push(`tensor ${name} is ${e.dtype === 'I32' ? 'int32' : e.dtype}, not float32`);
      else if (e.shape.length !== shape.length || e.shape.some((d, i) => d !== shape[i])) {
        problems.push(`tensor ${name} has shape ${formatShape(e.shape)}, config.json implies ${formatShape(shape)}`);
      }
    }
    if (problems.length > 0) {
      const shown = problems.slice(0, 3);
      fail(dir, `model.safetensors does not match config.json: ${shown.join('; ')}${problems.length > 3 ? `; and ${problems.length - 3} more` : ''}`);
    }
    if (lmHead) {
      const a = file.read(lmHead);
      const b = file.read(given.get('wte.weight')!);
      const tied = sameData(a, b);
      a.dispose();
      b.dispose();
      if (!tied) fail(dir, 'lm_head.weight differs from wte.weight (an untied output layer; lmkit ties it to the token embedding)');
    }

    const config: TransformerConfig = {
      vocabSize: hf.vocab_size,
      context: hf.n_positions,
      embed: hf.n_embd,
      heads: hf.n_head,
      layers: hf.n_layer,
      dropout: opts.dropout ?? (typeof hf.resid_pdrop === 'number' && hf.resid_pdrop >= 0 && hf.resid_pdrop < 1 ? hf.resid_pdrop : 0.1),
      seed: opts.seed ?? 1,
    };
    const model = new TransformerLM(config);
    try {
      const params = new Map(model.namedParameters());
      const loaded = new Set<string>();
      for (const [name, e] of given) {
        const { name: lk, transpose } = lmkitName(name);
        const p = params.get(lk);
        const [rows, cols] = e.shape.length === 2 ? (e.shape as [number, number]) : [1, e.shape[0] ?? 1];
        const shape = transpose ? [cols, rows] : e.shape;
        if (!p || p.shape.length !== shape.length || p.shape.some((d, i) => d !== shape[i])) {
          throw new Error(`internal: GPT-2 tensor ${name} ${formatShape(e.shape)} has no parameter ${lk} of shape ${formatShape(shape)}`);
        }
        // Host values straight into the parameter's storage: no native temporaries.
        const data = file.readData(e) as Float32Array;
        p.storage.write(transpose ? transpose2d(data, rows, cols) : data);
        loaded.add(lk);
      }
      const missing = [...params.keys()].filter((k) => !loaded.has(k));
      if (missing.length > 0) throw new Error(`internal: parameters not loaded from ${weightsFile}: ${missing.join(', ')}`);
    } catch (e) {
      model.dispose();
      if (e instanceof SafetensorsError) fail(dir, `model.safetensors: ${e.problem}`);
      throw e;
    }
    return { model, config, tokenizer, hfConfig: hf };
  } finally {
    file.close();
  }
}

export interface SavePretrainedOptions {
  /**
   * Written as vocab.json + merges.txt when it is an 'hf-bpe' tokenizer, or the GPT-2 tokenizer
   * (its files derived from js-tiktoken's ranks, see gpt2TokenizerFiles); others are not written.
   */
  tokenizer?: Tokenizer;
}

/** The config.json of a TransformerLM's config (GPT2LMHeadModel). */
export function hfGpt2ConfigOf(c: TransformerConfig): HfGpt2Config {
  const p = c.dropout ?? 0;
  const eos = c.vocabSize >= GPT2_VOCAB_SIZE ? GPT2_VOCAB_SIZE - 1 : c.vocabSize - 1;
  return {
    architectures: ['GPT2LMHeadModel'],
    model_type: 'gpt2',
    vocab_size: c.vocabSize,
    n_positions: c.context,
    n_ctx: c.context,
    n_embd: c.embed,
    n_layer: c.layers,
    n_head: c.heads,
    n_inner: null,
    activation_function: 'gelu_new',
    layer_norm_epsilon: 1e-5,
    resid_pdrop: p,
    embd_pdrop: p,
    attn_pdrop: 0,
    initializer_range: 0.02,
    bos_token_id: eos,
    eos_token_id: eos,
    scale_attn_weights: true,
    scale_attn_by_inverse_layer_idx: false,
    reorder_and_upcast_attn: false,
    tie_word_embeddings: true,
    use_cache: true,
  };
}

/**
 * Writes `model` as a Hugging Face GPT-2 directory (created if needed): config.json,
 * model.safetensors (names `transformer.*`, Conv1D layout, no lm_head: it is tied) and, for an
 * 'hf-bpe' tokenizer, vocab.json + merges.txt. Returns the files written.
 */
export function savePretrained(dir: string, model: TransformerLM, opts: SavePretrainedOptions = {}): string[] {
  if (!(model instanceof TransformerLM)) throw new TypeError('savePretrained: model must be a TransformerLM');
  const c = model.config;
  const params = new Map(model.namedParameters());
  const out: Record<string, Tensor> = {};
  const temps: Tensor[] = [];
  try {
    for (const [name, shape] of hfGpt2Shapes({ vocab_size: c.vocabSize, n_positions: c.context, n_embd: c.embed, n_layer: c.layers })) {
      const { name: lk, transpose } = lmkitName(name);
      const p = params.get(lk);
      if (!p) throw new Error(`savePretrained: the model has no parameter ${lk}`);
      if (transpose) {
        const [rows, cols] = p.shape as [number, number];
        const x = Tensor.fromArray(transpose2d(p.toArray() as Float32Array, rows, cols), [cols, rows]);
        temps.push(x);
        out['transformer.' + name] = x;
      } else out['transformer.' + name] = p;
      if (out['transformer.' + name]!.shape.some((d, i) => d !== shape[i])) throw new Error(`internal: shape of ${name}`);
    }
    fs.mkdirSync(dir, { recursive: true });
    const files = ['config.json', 'model.safetensors'];
    writeSafetensors(path.join(dir, 'model.safetensors'), out, { format: 'pt' });
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(hfGpt2ConfigOf(c), null, 2) + '\n');
    const tok = opts.tokenizer;
    const tf = tok instanceof HfBpeTokenizer ? { vocabJson: tok.vocabJson(), mergesTxt: tok.mergesTxt() } : tok instanceof Gpt2Tokenizer ? gpt2TokenizerFiles() : null;
    if (tf) {
      fs.writeFileSync(path.join(dir, 'vocab.json'), tf.vocabJson);
      fs.writeFileSync(path.join(dir, 'merges.txt'), tf.mergesTxt);
      files.push('vocab.json', 'merges.txt');
    }
    return files;
  } finally {
    for (const t of temps) t.dispose();
  }
}
