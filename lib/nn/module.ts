// Module: a named tree of parameters and sub-modules.
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
