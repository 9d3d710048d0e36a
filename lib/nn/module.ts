// Module: a named tree of parameters and sub-modules.
// RNG state: modules that draw random numbers during training (dropout masks) derive them
// from counters; `rngState()` collects every module's counters by dotted name and
// `setRngState()` puts them back (resumable checkpoints). Such modules override
// `ownRngState` / `setOwnRngState` (RecurrentLM, TransformerLM, MaskedLM, BiRecurrentTagger).
import { Tensor, keep, makeRng } from '../tensor.js';

export class Module {
  /** Training mode (dropout on). */
  training = true;
  private readonly params = new Map<string, Tensor>();
  private readonly children = new Map<string, Module>();

  /** Registers a parameter (made a gradient leaf, exempt from tidy scopes). */
  protected param(name: string, t: Tensor): Tensor {
    if (this.params.has(name) || this.children.has(name)) throw new Error(`duplicate parameter '${name}'`);
    t.name = name;
    t.requireGrad(true);
    keep(t);
    this.params.set(name, t);
    return t;
  }

  protected module<M extends Module>(name: string, m: M): M {
    if (this.params.has(name) || this.children.has(name)) throw new Error(`duplicate module '${name}'`);
    this.children.set(name, m);
    return m;
  }

  /** Every parameter with its dotted path, e.g. `hidden.weight`. */
  namedParameters(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [n, p] of this.params) out.push([prefix + n, p]);
    for (const [n, c] of this.children) out.push(...c.namedParameters(`${prefix}${n}.`));
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /** Total number of scalar parameters. */
  numParameters(): number {
    return this.parameters().reduce((s, p) => s + p.size, 0);
  }

  /** The counters behind every random draw of this module and its children, by dotted name. */
  rngState(prefix = ''): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(this.ownRngState())) out[prefix + k] = v;
    for (const [n, c] of this.children) Object.assign(out, c.rngState(`${prefix}${n}.`));
    return out;
  }

  /** Restores counters saved by `rngState()`; a counter missing from `s` is an error. */
  setRngState(s: Record<string, number>, prefix = ''): void {
    const own: Record<string, number> = {};
    for (const k of Object.keys(this.ownRngState())) {
      const v = s[prefix + k];
      if (!Number.isSafeInteger(v) || v! < 0) throw new Error(`setRngState: missing or bad counter '${prefix + k}' (${String(v)})`);
      own[k] = v!;
    }
    this.setOwnRngState(own);
    for (const [n, c] of this.children) c.setRngState(s, `${prefix}${n}.`);
  }

  /** This module's own RNG counters (none by default). */
  protected ownRngState(): Record<string, number> {
    return {};
  }

  protected setOwnRngState(_s: Record<string, number>): void {}

  train(on = true): this {
    this.training = on;
    for (const c of this.children.values()) c.train(on);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Frees every parameter and gradient. */
  dispose(): void {
    for (const p of this.parameters()) {
      p.grad?.dispose();
      p.dispose();
    }
  }
}

/** Uniform(-bound, bound) initial values from a seeded generator. */
export function uniformInit(shape: number[], bound: number, seed: number): Tensor {
  const rng = makeRng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (rng() * 2 - 1) * bound;
  return Tensor.fromArray(a, shape);
}
