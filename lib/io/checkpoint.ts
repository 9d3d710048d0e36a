// Checkpoints: a directory holding `model.safetensors` (the tensors) and `checkpoint.json`
// (format version, the weights file's size and SHA-256, and free-form metadata: config,
// tokenizer, optimizer state info, step, rng ...), saved so that a crash at any moment
// leaves a loadable checkpoint: the previous one, or the new one once it is committed.
//
// Save protocol (all files in the checkpoint directory, so that renames are atomic):
//   1. Remove stale temporaries of an earlier interrupted save (`*.tmp-*` of our two names).
//   2. Write `model.safetensors.tmp-<id>` and `checkpoint.json.tmp-<id>`, fsync both.
//   3. Preserve the committed weights: if `checkpoint.json` exists, find the weights file
//      that matches it (size + SHA-256): `model.safetensors`, or `model.safetensors.prev`
//      left by an interrupted save. If it is `model.safetensors`, hard-link it (copy where
//      links are not supported) to `model.safetensors.prev` (via a temporary name and a
//      rename, so `.prev` is never half-written); fsync the directory.
//   4. Rename the new weights onto `model.safetensors`; fsync the directory.
//   5. Rename the new JSON onto `checkpoint.json`; fsync the directory. THIS IS THE COMMIT.
//   6. Remove `model.safetensors.prev`; fsync the directory.
//
// Consistency argument: `checkpoint.json` is only ever replaced by an atomic rename of a
// complete, fsynced file, so it is always the old or the new one. It records the size and
// SHA-256 of the weights it belongs to, and the loader takes the first of
// `model.safetensors`, `model.safetensors.prev` whose size and hash match, so a mismatched
// pair is detected, never loaded. Crash before step 4: the old pair is untouched (stray
// temporaries are ignored and cleaned by the next save). Crash between 4 and 5: the old JSON
// is paired with `.prev`, which step 3 made a durable copy of the old weights before
// `model.safetensors` was replaced. Crash after 5: the new pair is complete (a leftover
// `.prev` is ignored). Concurrent saves into one directory are not supported.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import type { Module } from '../nn/module.js';
import { Tensor, formatShape } from '../tensor.js';
import { decodeSafetensors, encodeSafetensors, type TensorMapLike } from './safetensors.js';

export const CHECKPOINT_FORMAT = 'lmkit-checkpoint';
export const CHECKPOINT_VERSION = 1;
export const WEIGHTS_FILE = 'model.safetensors';
export const META_FILE = 'checkpoint.json';
const PREV_SUFFIX = '.prev';
const TMP_MARK = '.tmp-';

/** The JSON-serialisable metadata saved beside the weights. */
export type CheckpointMeta = Record<string, unknown>;

export interface CheckpointData<M extends CheckpointMeta = CheckpointMeta> {
  tensors: TensorMapLike;
  meta: M;
}

/** The content of `checkpoint.json`. */
export interface CheckpointManifest {
  format: typeof CHECKPOINT_FORMAT;
  version: number;
  weights: { file: string; bytes: number; sha256: string };
  /** Name -> dtype and shape of every tensor (for inspection without reading the weights). */
  tensors: Record<string, { dtype: string; shape: number[] }>;
  meta: CheckpointMeta;
  savedAt: string;
}

/** Steps of a save, reported to `SaveOptions.onStage` before each one runs. */
export type SaveStage = 'write-temp' | 'preserve-previous' | 'rename-weights' | 'rename-meta' | 'cleanup';

export interface SaveOptions {
  /**
   * Called before each stage (tests use it to simulate a crash by throwing). When a save
   * fails, its own temporary files are removed; the directory is otherwise left as it was.
   */
  onStage?: (stage: SaveStage) => void;
}

export interface LoadedCheckpoint<M extends CheckpointMeta = CheckpointMeta> {
  tensors: Map<string, Tensor>;
  meta: M;
  manifest: CheckpointManifest;
  /** The weights file actually read (the `.prev` copy after an interrupted save). */
  weightsPath: string;
}

// ---- small filesystem helpers -----------------------------------------------------

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function writeDurable(file: string, data: Uint8Array | string): void {
  const fd = fs.openSync(file, 'w', 0o644);
  try {
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** fsync a directory so renames/unlinks in it are durable (not possible on every platform). */
function fsyncDir(dir: string): void {
  let fd: number;
  try {
    fd = fs.openSync(dir, 'r');
  } catch {
    return; // e.g. Windows cannot open directories
  }
  try {
    fs.fsyncSync(fd);
  } catch {
    // Some filesystems refuse fsync on directories (EINVAL/EISDIR); nothing more to do.
  } finally {
    fs.closeSync(fd);
  }
}

function removeIfExists(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

// ---- JSON validation of the metadata ----------------------------------------------

/** Throws a TypeError naming the path of the first value JSON would drop or mangle. */
function checkJson(value: unknown, where: string, seen: Set<object>): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`checkpoint meta: ${where} is ${value}, which JSON cannot hold`);
      return;
    case 'object': {
      if (value === null) return;
      if (seen.has(value)) throw new TypeError(`checkpoint meta: ${where} is a circular reference`);
      seen.add(value);
      if (Array.isArray(value)) {
        value.forEach((v, i) => checkJson(v, `${where}[${i}]`, seen));
      } else {
        const proto = Object.getPrototypeOf(value);
        if (proto !== Object.prototype && proto !== null) {
          throw new TypeError(`checkpoint meta: ${where} is a ${value.constructor?.name ?? 'non-plain object'}, not a plain object`);
        }
        // Properties set to undefined are simply left out, as JSON.stringify does.
        for (const [k, v] of Object.entries(value)) if (v !== undefined) checkJson(v, `${where}.${k}`, seen);
      }
      seen.delete(value);
      return;
    }
    default:
      throw new TypeError(`checkpoint meta: ${where} is a ${typeof value}, which JSON cannot hold`);
  }
}

// ---- save ---------------------------------------------------------------------------

/** Size and SHA-256 of a file, or null when it does not exist. */
function fileDigest(file: string, expectBytes?: number): { bytes: number; sha256: string } | null {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    return null;
  }
  if (expectBytes !== undefined && st.size !== expectBytes) return { bytes: st.size, sha256: '' };
  return { bytes: st.size, sha256: sha256(fs.readFileSync(file)) };
}

function readManifestIfAny(dir: string): CheckpointManifest | null {
  try {
    return validateManifest(JSON.parse(fs.readFileSync(path.join(dir, META_FILE), 'utf8')), dir);
  } catch {
    return null;
  }
}

/** Which weights file (if any) the committed checkpoint.json refers to. */
function committedWeights(dir: string): string | null {
  const manifest = readManifestIfAny(dir);
  if (!manifest) return null;
  const main = path.join(dir, manifest.weights.file);
  for (const candidate of [main, main + PREV_SUFFIX]) {
    const d = fileDigest(candidate, manifest.weights.bytes);
    if (d && d.bytes === manifest.weights.bytes && d.sha256 === manifest.weights.sha256) return candidate;
  }
  return null;
}

function removeStaleTemporaries(dir: string): void {
  for (const name of fs.readdirSync(dir)) {
    for (const base of [WEIGHTS_FILE, META_FILE, WEIGHTS_FILE + PREV_SUFFIX]) {
      if (name.startsWith(base + TMP_MARK)) removeIfExists(path.join(dir, name));
    }
  }
}

/**
 * Saves `tensors` to `<dir>/model.safetensors` and `meta` (plus format version and the
 * weights' size and SHA-256) to `<dir>/checkpoint.json`, atomically (see the protocol at
 * the top of this file). Creates `dir` if needed. Returns the manifest written.
 */
export function saveCheckpoint(dir: string, data: CheckpointData, opts: SaveOptions = {}): CheckpointManifest {
  const stage = opts.onStage ?? (() => {});
  if (data === null || typeof data !== 'object') throw new TypeError('saveCheckpoint: expected { tensors, meta }');
  const { tensors, meta } = data;
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) {
    throw new TypeError('saveCheckpoint: meta must be a plain object');
  }
  checkJson(meta, 'meta', new Set());

  const weights = encodeSafetensors(tensors, { format: 'lmkit', checkpoint_version: String(CHECKPOINT_VERSION) });
  const tensorInfo: CheckpointManifest['tensors'] = {};
  const list = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  for (const [name, t] of list) tensorInfo[name] = { dtype: t.dtype, shape: [...t.shape] };
  const manifest: CheckpointManifest = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    weights: { file: WEIGHTS_FILE, bytes: weights.byteLength, sha256: sha256(weights) },
    tensors: tensorInfo,
    meta,
    savedAt: new Date().toISOString(),
  };
  const json = JSON.stringify(manifest, null, 2) + '\n';

  fs.mkdirSync(dir, { recursive: true });
  removeStaleTemporaries(dir);
  const id = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const weightsPath = path.join(dir, WEIGHTS_FILE);
  const metaPath = path.join(dir, META_FILE);
  const prevPath = weightsPath + PREV_SUFFIX;
  const tmpWeights = weightsPath + TMP_MARK + id;
  const tmpMeta = metaPath + TMP_MARK + id;
  const tmpPrev = prevPath + TMP_MARK + id;
  try {
    stage('write-temp');
    writeDurable(tmpWeights, weights);
    writeDurable(tmpMeta, json);

    stage('preserve-previous');
    const committed = committedWeights(dir);
    if (committed === weightsPath) {
      try {
        fs.linkSync(weightsPath, tmpPrev);
      } catch {
        fs.copyFileSync(weightsPath, tmpPrev);
        const fd = fs.openSync(tmpPrev, 'r+');
        try {
          fs.fsyncSync(fd);
        } finally {
          fs.closeSync(fd);
        }
      }
      fs.renameSync(tmpPrev, prevPath);
      // rename() does nothing when both names already link the same file (a `.prev` left by
      // an interrupted save of the same weights): drop the temporary name in that case.
      removeIfExists(tmpPrev);
      fsyncDir(dir);
    }
    // else: the committed weights are already in `.prev` (an earlier save was interrupted
    // after its step 4), or there is no valid previous checkpoint to protect.

    stage('rename-weights');
    fs.renameSync(tmpWeights, weightsPath);
    fsyncDir(dir);

    stage('rename-meta');
    fs.renameSync(tmpMeta, metaPath);
    fsyncDir(dir);
  } catch (err) {
    for (const f of [tmpWeights, tmpMeta, tmpPrev]) {
      try {
        removeIfExists(f);
      } catch {
        // keep the original error
      }
    }
    throw err;
  }
  // Committed. Removing the preserved copy is housekeeping: a failure here is harmless.
  try {
    stage('cleanup');
    removeIfExists(prevPath);
    fsyncDir(dir);
  } catch {
    // a stale `.prev` is ignored by the loader and replaced by the next save
  }
  return manifest;
}

// ---- load ---------------------------------------------------------------------------

function validateManifest(raw: unknown, source: string): CheckpointManifest {
  const fail = (problem: string): never => {
    throw new Error(`invalid checkpoint ${source}: ${problem}`);
  };
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail(`${META_FILE} is not a JSON object`);
  const m = raw as Record<string, unknown>;
  if (m.format !== CHECKPOINT_FORMAT) fail(`${META_FILE} has format ${JSON.stringify(m.format)}, expected "${CHECKPOINT_FORMAT}"`);
  if (typeof m.version !== 'number' || !Number.isInteger(m.version)) fail(`${META_FILE} has no integer 'version'`);
  if ((m.version as number) > CHECKPOINT_VERSION) {
    fail(`${META_FILE} is version ${m.version}, newer than this lmkit reads (${CHECKPOINT_VERSION}); upgrade lmkit`);
  }
  if ((m.version as number) < 1) fail(`${META_FILE} has invalid version ${m.version}`);
  const w = m.weights as Record<string, unknown> | undefined;
  if (
    !w ||
    typeof w !== 'object' ||
    typeof w.file !== 'string' ||
    typeof w.bytes !== 'number' ||
    !Number.isSafeInteger(w.bytes) ||
    typeof w.sha256 !== 'string' ||
    !/^[0-9a-f]{64}$/.test(w.sha256)
  ) {
    fail(`${META_FILE} 'weights' must be { file, bytes, sha256 } (got ${JSON.stringify(w)})`);
  }
  if (path.basename(w!.file as string) !== w!.file || w!.file === '' || w!.file === '.' || w!.file === '..') {
    fail(`${META_FILE} names weights file ${JSON.stringify(w!.file)}, which is not a plain file name`);
  }
  if (m.meta === null || typeof m.meta !== 'object' || Array.isArray(m.meta)) fail(`${META_FILE} 'meta' must be an object`);
  if (m.tensors !== undefined && (m.tensors === null || typeof m.tensors !== 'object')) fail(`${META_FILE} 'tensors' must be an object`);
  return m as unknown as CheckpointManifest;
}

/**
 * Loads a checkpoint saved by `saveCheckpoint`. Checks the JSON (format, version, weights
 * record) and that the weights file matches the recorded size and SHA-256; after an
 * interrupted save it reads the preserved previous weights (`model.safetensors.prev`).
 * Throws an Error naming the directory and the problem otherwise.
 */
export function loadCheckpoint<M extends CheckpointMeta = CheckpointMeta>(dir: string): LoadedCheckpoint<M> {
  const metaPath = path.join(dir, META_FILE);
  let text: string;
  try {
    text = fs.readFileSync(metaPath, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(
      code === 'ENOENT' ? `no checkpoint in ${dir}: ${META_FILE} not found` : `cannot read ${metaPath}: ${errText(err)}`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new Error(`invalid checkpoint ${dir}: ${META_FILE} is not valid JSON (${errText(err)})`);
  }
  const manifest = validateManifest(raw, dir);
  const main = path.join(dir, manifest.weights.file);
  const problems: string[] = [];
  for (const candidate of [main, main + PREV_SUFFIX]) {
    let buf: Buffer;
    try {
      buf = fs.readFileSync(candidate);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') problems.push(`${candidate}: ${errText(err)}`);
      else if (candidate === main) problems.push(`${candidate} not found`);
      continue;
    }
    if (buf.byteLength !== manifest.weights.bytes) {
      problems.push(`${candidate} is ${buf.byteLength} bytes, ${META_FILE} records ${manifest.weights.bytes}`);
      continue;
    }
    const digest = sha256(buf);
    if (digest !== manifest.weights.sha256) {
      problems.push(`${candidate} has SHA-256 ${digest.slice(0, 12)}…, ${META_FILE} records ${manifest.weights.sha256.slice(0, 12)}…`);
      continue;
    }
    const { tensors } = decodeSafetensors(buf, candidate);
    return { tensors, meta: manifest.meta as M, manifest, weightsPath: candidate };
  }
  throw new Error(`invalid checkpoint ${dir}: weights do not match ${META_FILE} (${problems.join('; ')})`);
}

// ---- module state -------------------------------------------------------------------

/**
 * The parameters of `module` by their dotted names (`hidden.weight`): the live tensors,
 * not copies (do not dispose them), ready for `saveCheckpoint({ tensors, ... })`.
 */
export function saveModuleState(module: Module, prefix = ''): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [name, p] of module.namedParameters()) {
    if (Object.hasOwn(out, prefix + name)) throw new Error(`saveModuleState: duplicate parameter name '${prefix + name}'`);
    out[prefix + name] = p;
  }
  return out;
}

export interface LoadStateOptions {
  /** Only tensors whose names start with this prefix are considered (prefix stripped). */
  prefix?: string;
  /** Reject tensors that match no parameter (default true). */
  strict?: boolean;
}

/**
 * Copies `tensors` into the parameters of `module`, matched by `namedParameters()` names.
 * Every name, dtype and shape is checked first, and nothing is copied unless all match:
 * missing parameters, extra tensors (when strict) and mismatches are reported together in
 * one Error. Returns the names loaded.
 */
export function loadModuleState(module: Module, tensors: TensorMapLike, opts: LoadStateOptions = {}): string[] {
  const { prefix = '', strict = true } = opts;
  const given = new Map<string, Tensor>();
  for (const [k, t] of tensors instanceof Map ? tensors.entries() : Object.entries(tensors)) {
    if (!k.startsWith(prefix)) continue;
    given.set(k.slice(prefix.length), t);
  }
  const params = module.namedParameters();
  const problems: string[] = [];
  const known = new Set<string>();
  for (const [name, p] of params) {
    known.add(name);
    const t = given.get(name);
    if (!t) {
      problems.push(`missing '${prefix + name}' (${p.dtype}${formatShape(p.shape)})`);
      continue;
    }
    if (!(t instanceof Tensor)) {
      problems.push(`'${prefix + name}' is not a Tensor`);
      continue;
    }
    if (t.dtype !== p.dtype || t.shape.length !== p.shape.length || t.shape.some((d, i) => d !== p.shape[i])) {
      problems.push(
        `'${prefix + name}' is ${t.dtype}${formatShape(t.shape)} but the parameter is ${p.dtype}${formatShape(p.shape)}`,
      );
    } else if (t.disposed) {
      problems.push(`'${prefix + name}' has been disposed`);
    }
  }
  if (strict) {
    for (const k of given.keys()) if (!known.has(k)) problems.push(`unexpected '${prefix + k}' (no such parameter)`);
  }
  if (problems.length > 0) {
    const shown = problems.slice(0, 20);
    if (problems.length > shown.length) shown.push(`... and ${problems.length - shown.length} more`);
    throw new Error(`loadModuleState: state does not match the module:\n  ${shown.join('\n  ')}`);
  }
  for (const [name, p] of params) {
    const t = given.get(name)!;
    if (t !== p) p.storage.copyFrom(t.storage);
  }
  return params.map(([n]) => n);
}
