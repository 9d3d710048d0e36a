// An n-gram language model with interpolated modified Kneser-Ney smoothing
// (Chen & Goodman 1998, "An empirical study of smoothing techniques for language modeling").
//
// For order k with context h (k - 1 tokens) and token w:
//   P_k(w | h) = max(c_k(h w) - D_k(c_k(h w)), 0) / c_k(h •)  +  γ_k(h) P_{k-1}(w | h')
//   γ_k(h)     = (D_k1 N1(h •) + D_k2 N2(h •) + D_k3+ N3+(h •)) / c_k(h •)
// where h' drops the oldest token of h, c_k is the raw count at the highest order and the
// continuation count (number of distinct left neighbours, the start of the text counting as
// one) below it, c_k(h •) = Σ_w c_k(h w), and N_i(h •) counts the tokens w with c_k(h w) = i
// (N3+: >= 3). A context never seen followed by a token backs off fully: P_k = P_{k-1}.
// The unigram level interpolates with the uniform distribution 1 / V, so every token of the
// vocabulary has a non-zero probability. The discounts of each order come from its
// count-of-counts n1..n4 (of the counts that order uses):
//   Y = n1 / (n1 + 2 n2),  D1 = 1 - 2Y n2/n1,  D2 = 2 - 3Y n3/n2,  D3+ = 3 - 4Y n4/n3.
//
// Storage: every order is a table of nodes (an n-gram = its (n-1)-gram prefix node + last
// token) indexed by an open-addressing hash table over (prefix id, token), so training is
// linear in the text length with a few typed arrays per order.

export type Discounts = readonly [number, number, number];

export interface KneserNeyOptions {
  /** n: the model conditions on up to n - 1 previous tokens. */
  order: number;
  vocabSize: number;
  /** Fixed discounts [D1, D2, D3+] for each order 1..n (index k-1), each D_i in (0, i]; estimated when left out. */
  discounts?: readonly Discounts[];
}

export interface KneserNeyJSON {
  kind: 'kneser-ney';
  order: number;
  vocabSize: number;
  discounts: Discounts[];
  /** Per order 1..n: base64 of little-endian Int32Array prefix ids, tokens and (modified) counts. */
  levels: { size: number; parent: string; word: string; count: string }[];
}

/** The model as typed arrays (checkpoints store them as tensors; see lib/train/checkpointing.ts). */
export interface KneserNeyArrays {
  order: number;
  vocabSize: number;
  discounts: Discounts[];
  /** Per order 1..n: node i is (parent[i] = its prefix node one order below, word[i]), with count[i]. */
  levels: { parent: Int32Array; word: Int32Array; count: Int32Array }[];
}

export interface NgramEvaluation {
  /** Mean negative log-likelihood per token (natural log). */
  loss: number;
  ppl: number;
  tokens: number;
}

const EMPTY = -1;

/** The n-grams of one order: node i is (parent[i] = id of its prefix one order below, word[i]). */
class Level {
  size = 0;
  parent: Int32Array;
  word: Int32Array;
  private slots: Int32Array;
  private mask: number;

  constructor(capacity: number) {
    const cap = Math.max(1, capacity);
    this.parent = new Int32Array(cap);
    this.word = new Int32Array(cap);
    let slots = 16;
    while (slots < cap * 2) slots *= 2;
    this.slots = new Int32Array(slots).fill(EMPTY);
    this.mask = slots - 1;
  }

  private static hash(p: number, w: number): number {
    let h = Math.imul(p, 0x9e3779b1) ^ Math.imul(w + 0x7f4a7c15, 0x85ebca6b);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    h ^= h >>> 13;
    return h;
  }

  /** The node id of (p, w), or -1. */
  find(p: number, w: number): number {
    const { slots, mask, parent, word } = this;
    let s = Level.hash(p, w) & mask;
    for (;;) {
      const id = slots[s]!;
      if (id === EMPTY) return -1;
      if (parent[id] === p && word[id] === w) return id;
      s = (s + 1) & mask;
    }
  }

  /** The node id of (p, w), created when absent (the caller sees creation as id === size - 1 after a size change). */
  insert(p: number, w: number): number {
    const { slots, mask, parent, word } = this;
    let s = Level.hash(p, w) & mask;
    for (;;) {
      const id = slots[s]!;
      if (id === EMPTY) break;
      if (parent[id] === p && word[id] === w) return id;
      s = (s + 1) & mask;
    }
    const id = this.size++;
    if (id >= this.parent.length) throw new Error('KneserNeyLM: internal error, level capacity exceeded');
    parent[id] = p;
    word[id] = w;
    slots[s] = id;
    return id;
  }

  /** Drops the unused capacity of the node arrays. */
  trim(): void {
    this.parent = this.parent.slice(0, this.size);
    this.word = this.word.slice(0, this.size);
  }

  static fromNodes(parent: Int32Array, word: Int32Array): Level {
    const l = new Level(parent.length);
    for (let i = 0; i < parent.length; i++) {
      if (l.insert(parent[i]!, word[i]!) !== i) throw new Error('KneserNeyLM: repeated n-gram in saved model');
    }
    return l;
  }
}

function checkPositiveInt(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw new RangeError(`KneserNeyLM: ${name} must be a positive integer, got ${String(v)}`);
  }
  return v;
}

function checkDiscounts(d: readonly Discounts[], order: number): Discounts[] {
  if (!Array.isArray(d) || d.length !== order) {
    throw new RangeError(`KneserNeyLM: discounts must give [D1, D2, D3+] for each of the ${order} orders`);
  }
  return d.map((triple, k) => {
    if (!Array.isArray(triple) || triple.length !== 3) {
      throw new RangeError(`KneserNeyLM: discounts[${k}] must be [D1, D2, D3+]`);
    }
    triple.forEach((x, i) => {
      if (typeof x !== 'number' || !(x > 0 && x <= i + 1)) {
        throw new RangeError(`KneserNeyLM: discount D${i + 1} of order ${k + 1} must be in (0, ${i + 1}], got ${String(x)}`);
      }
    });
    return [triple[0], triple[1], triple[2]] as Discounts;
  });
}

const MIN_DISCOUNT = 0.01;

/**
 * Chen & Goodman's estimates from count-of-counts n1..n4. Where a count-of-count is zero the
 * formula is undefined: D1 falls back to 0.5 and D2 / D3+ to the discount below them; every
 * discount is then clamped into [0.01, i] (a count of i never loses more than i, and a positive
 * discount keeps mass for the lower order).
 */
export function estimateDiscounts(n1: number, n2: number, n3: number, n4: number): Discounts {
  const Y = n1 + 2 * n2 > 0 ? n1 / (n1 + 2 * n2) : NaN;
  const raw = [n1 > 0 ? 1 - (2 * Y * n2) / n1 : NaN, n2 > 0 ? 2 - (3 * Y * n3) / n2 : NaN, n3 > 0 ? 3 - (4 * Y * n4) / n3 : NaN];
  const out: number[] = [];
  for (let i = 0; i < 3; i++) {
    let d = raw[i]!;
    if (!Number.isFinite(d)) d = i === 0 ? 0.5 : out[i - 1]!;
    out.push(Math.min(i + 1, Math.max(MIN_DISCOUNT, d)));
  }
  return [out[0]!, out[1]!, out[2]!];
}

function checkIds(ids: ArrayLike<number>, vocabSize: number, what: string): void {
  for (let i = 0; i < ids.length; i++) {
    const t = ids[i]!;
    if (!Number.isInteger(t) || t < 0 || t >= vocabSize) {
      throw new RangeError(`KneserNeyLM: ${what}[${i}] = ${t} is out of range [0, ${vocabSize})`);
    }
  }
}

function toBase64(a: Int32Array): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
}

function fromBase64(s: string, n: number): Int32Array {
  const b = Buffer.from(s, 'base64');
  if (b.byteLength !== n * 4) throw new Error('KneserNeyLM: corrupt saved level');
  const out = new Int32Array(n);
  new Uint8Array(out.buffer).set(b);
  return out;
}

export class KneserNeyLM {
  readonly order: number;
  readonly vocabSize: number;
  /** [D1, D2, D3+] for each order 1..n (index k-1). */
  readonly discounts: Discounts[];
  /** levels[k] holds the k-grams (levels[0]: the empty context, one node). */
  private readonly levels: Level[];
  /** count[k][i]: the count used at order k (raw at the highest order, continuation below). */
  private readonly count: Int32Array[];
  /** For context node i of levels[k] (context of order k+1): Σ_w c_{k+1}(h w), and the γ numerator. */
  private readonly ctxTotal: Float64Array[];
  private readonly ctxGamma: Float64Array[];

  private constructor(order: number, vocabSize: number, levels: Level[], count: Int32Array[], discounts: Discounts[]) {
    this.order = order;
    this.vocabSize = vocabSize;
    this.levels = levels;
    this.count = count;
    this.discounts = discounts;
    this.ctxTotal = [];
    this.ctxGamma = [];
    for (let k = 0; k < order; k++) {
      const total = new Float64Array(levels[k]!.size);
      const gamma = new Float64Array(levels[k]!.size);
      const child = levels[k + 1]!;
      const c = count[k + 1]!;
      const [d1, d2, d3] = discounts[k]!;
      for (let i = 0; i < child.size; i++) {
        const m = c[i]!;
        if (m <= 0) continue;
        const p = child.parent[i]!;
        total[p] += m;
        gamma[p] += m === 1 ? d1 : m === 2 ? d2 : d3;
      }
      this.ctxTotal.push(total);
      this.ctxGamma.push(gamma);
    }
  }

  /** Counts all orders 1..n of `ids` (token ids in [0, vocabSize)) and estimates the discounts. */
  static train(ids: ArrayLike<number>, options: KneserNeyOptions): KneserNeyLM {
    const order = checkPositiveInt('order', options?.order);
    const V = checkPositiveInt('vocabSize', options?.vocabSize);
    if (V > 0x7fffffff) throw new RangeError(`KneserNeyLM: vocabSize must be < 2^31, got ${V}`);
    const given = options.discounts !== undefined ? checkDiscounts(options.discounts, order) : null;
    checkIds(ids, V, 'ids');
    const N = ids.length;

    const root = new Level(1);
    root.insert(-1, -1);
    const levels: Level[] = [root];
    const raw: Int32Array[] = [Int32Array.of(N)];
    const cont: Int32Array[] = [new Int32Array(1)];
    // cur[i]: id of the (k-1)-gram starting at i, updated in place to the k-gram.
    const cur = new Int32Array(N);
    for (let k = 1; k <= order; k++) {
      const L = Math.max(0, N - k + 1);
      const level = new Level(L);
      const rc = new Int32Array(Math.max(1, L));
      const below = k >= 2 ? cont[k - 1]! : null;
      for (let i = 0; i < L; i++) {
        const before = level.size;
        const id = level.insert(cur[i]!, ids[i + k - 1]!);
        // A new k-gram is a new distinct left neighbour of its suffix, the (k-1)-gram at i+1.
        if (below !== null && level.size !== before) below[cur[i + 1]!]!++;
        rc[id]!++;
        cur[i] = id;
      }
      const cc = new Int32Array(Math.max(1, L));
      if (L > 0) cc[cur[0]!]!++; // the start of the text is one more left context
      level.trim();
      levels.push(level);
      raw.push(rc.slice(0, level.size));
      cont.push(cc);
    }
    const count: Int32Array[] = [raw[0]!];
    for (let k = 1; k <= order; k++) {
      count.push(k === order ? raw[k]! : cont[k]!.slice(0, levels[k]!.size));
    }
    const discounts = given ?? count.slice(1).map((c) => {
      const n = [0, 0, 0, 0, 0];
      for (let i = 0; i < c.length; i++) if (c[i]! <= 4) n[c[i]!]!++;
      return estimateDiscounts(n[1]!, n[2]!, n[3]!, n[4]!);
    });
    return new KneserNeyLM(order, V, levels, count, discounts);
  }

  /** Number of distinct k-grams for k = 1..n. */
  get ngramCounts(): number[] {
    return this.levels.slice(1).map((l) => l.size);
  }

  /** Count-of-counts n1..n4 of the counts each order uses (index k-1 for order k). */
  countOfCounts(): [number, number, number, number][] {
    return this.count.slice(1).map((c) => {
      const n = [0, 0, 0, 0, 0];
      for (let i = 0; i < c.length; i++) if (c[i]! <= 4) n[c[i]!]!++;
      return [n[1]!, n[2]!, n[3]!, n[4]!];
    });
  }

  /** Node ids of the suffixes of context[end - len .. end) for len = 0..max, stopping at the first unseen one. */
  private contextNodes(context: ArrayLike<number>, end: number, maxLen: number, out: Int32Array): number {
    out[0] = 0;
    let n = 1;
    for (let len = 1; len <= maxLen; len++) {
      let node = 0;
      for (let j = end - len, lvl = 1; j < end; j++, lvl++) {
        node = this.levels[lvl]!.find(node, context[j]!);
        if (node < 0) break;
      }
      if (node < 0 || this.ctxTotal[len]![node]! <= 0) break;
      out[n++] = node;
    }
    return n;
  }

  /** P(token | nodes[0..n)), nodes from contextNodes. */
  private probFromNodes(nodes: Int32Array, n: number, token: number): number {
    let p = 1 / this.vocabSize;
    for (let k = 0; k < n; k++) {
      const h = nodes[k]!;
      const total = this.ctxTotal[k]![h]!;
      if (!(total > 0)) break;
      const id = this.levels[k + 1]!.find(h, token);
      let num = this.ctxGamma[k]![h]! * p;
      if (id >= 0) {
        const m = this.count[k + 1]![id]!;
        if (m > 0) {
          const [d1, d2, d3] = this.discounts[k]!;
          num += Math.max(m - (m === 1 ? d1 : m === 2 ? d2 : d3), 0);
        }
      }
      p = num / total;
    }
    return p;
  }

  private scratch = new Int32Array(0);

  private nodesFor(context: ArrayLike<number>): { nodes: Int32Array; n: number } {
    checkIds(context, this.vocabSize, 'context');
    if (this.scratch.length < this.order) this.scratch = new Int32Array(this.order);
    const len = Math.min(context.length, this.order - 1);
    const n = this.contextNodes(context, context.length, len, this.scratch);
    return { nodes: this.scratch, n };
  }

  private checkToken(token: number): void {
    if (!Number.isInteger(token) || token < 0 || token >= this.vocabSize) {
      throw new RangeError(`KneserNeyLM: token ${token} is out of range [0, ${this.vocabSize})`);
    }
  }

  /** P(token | the last n-1 tokens of context). */
  prob(context: ArrayLike<number>, token: number): number {
    this.checkToken(token);
    const { nodes, n } = this.nodesFor(context);
    return this.probFromNodes(nodes, n, token);
  }

  /** ln P(token | the last n-1 tokens of context). */
  logProb(context: ArrayLike<number>, token: number): number {
    return Math.log(this.prob(context, token));
  }

  /** The whole next-token distribution after `context` (length vocabSize). */
  probs(context: ArrayLike<number>): Float64Array {
    const { nodes, n } = this.nodesFor(context);
    const out = new Float64Array(this.vocabSize);
    for (let w = 0; w < this.vocabSize; w++) out[w] = this.probFromNodes(nodes, n, w);
    return out;
  }

  /** Mean NLL of every position of `ids`, each predicted from up to n-1 previous tokens of `ids`. */
  evaluate(ids: ArrayLike<number>): NgramEvaluation {
    checkIds(ids, this.vocabSize, 'ids');
    if (ids.length === 0) throw new RangeError('KneserNeyLM: evaluate needs at least one token');
    const nodes = new Int32Array(this.order);
    let nll = 0;
    for (let i = 0; i < ids.length; i++) {
      const len = Math.min(i, this.order - 1);
      const n = this.contextNodes(ids, i, len, nodes);
      nll -= Math.log(this.probFromNodes(nodes, n, ids[i]!));
    }
    const loss = nll / ids.length;
    return { loss, ppl: Math.exp(loss), tokens: ids.length };
  }

  toJSON(): KneserNeyJSON {
    return {
      kind: 'kneser-ney',
      order: this.order,
      vocabSize: this.vocabSize,
      discounts: this.discounts.map((d) => [d[0], d[1], d[2]]),
      levels: this.levels.slice(1).map((l, k) => ({
        size: l.size,
        parent: toBase64(l.parent.subarray(0, l.size)),
        word: toBase64(l.word.subarray(0, l.size)),
        count: toBase64(this.count[k + 1]!.subarray(0, l.size)),
      })),
    };
  }

  static fromJSON(j: KneserNeyJSON): KneserNeyLM {
    if (j?.kind !== 'kneser-ney' || !Array.isArray(j.levels)) throw new Error('KneserNeyLM: not a saved Kneser-Ney model');
    return KneserNeyLM.fromArrays({
      order: j.order,
      vocabSize: j.vocabSize,
      discounts: j.discounts,
      levels: j.levels.map((l) => ({
        parent: fromBase64(l.parent, l.size),
        word: fromBase64(l.word, l.size),
        count: fromBase64(l.count, l.size),
      })),
    });
  }

  /** The n-gram tables as typed arrays (views of the model's own arrays: do not modify). */
  toArrays(): KneserNeyArrays {
    return {
      order: this.order,
      vocabSize: this.vocabSize,
      discounts: this.discounts.map((d) => [d[0], d[1], d[2]]),
      levels: this.levels.slice(1).map((l, k) => ({
        parent: l.parent.subarray(0, l.size),
        word: l.word.subarray(0, l.size),
        count: this.count[k + 1]!.subarray(0, l.size),
      })),
    };
  }

  /** The model of toArrays()'s tables; throws on inconsistent or out-of-range tables. */
  static fromArrays(a: KneserNeyArrays): KneserNeyLM {
    if (a === null || typeof a !== 'object' || !Array.isArray(a.levels)) throw new Error('KneserNeyLM: not a saved Kneser-Ney model');
    const order = checkPositiveInt('order', a.order);
    const V = checkPositiveInt('vocabSize', a.vocabSize);
    const discounts = checkDiscounts(a.discounts, order);
    if (a.levels.length !== order) throw new Error(`KneserNeyLM: saved model has ${a.levels.length} levels, expected ${order}`);
    const root = new Level(1);
    root.insert(-1, -1);
    const levels: Level[] = [root];
    const count: Int32Array[] = [new Int32Array(1)];
    a.levels.forEach((l, k) => {
      const { parent, word } = l;
      const n = parent?.length;
      if (!(parent instanceof Int32Array && word instanceof Int32Array && l.count instanceof Int32Array) || word.length !== n || l.count.length !== n) {
        throw new Error(`KneserNeyLM: corrupt saved level ${k + 1} (parent, word and count must be Int32Arrays of one length)`);
      }
      const below = levels[k]!.size;
      for (let i = 0; i < n; i++) {
        if (parent[i]! < 0 || parent[i]! >= below || word[i]! < 0 || word[i]! >= V || l.count[i]! < 0) {
          throw new Error('KneserNeyLM: corrupt saved level');
        }
      }
      levels.push(Level.fromNodes(parent, word));
      count.push(l.count.slice());
    });
    return new KneserNeyLM(order, V, levels, count, discounts);
  }
}
