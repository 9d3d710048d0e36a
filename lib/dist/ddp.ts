// Data-parallel training semantics (PyTorch DDP's) over a ProcessGroup:
// - the run works on the *global* batch (--batch x world size); rank r owns the rows
//   [r*n/W, (r+1)*n/W) of every global batch and the batch makers of lib/data build (and read
//   from token files) only those (`dataShard`, lib/data/shard.ts), so W ranks of batch B see
//   exactly the rows that one process of batch W*B sees;
// - before training every rank publishes its options, model config and parameter shapes; a
//   mismatch with rank 0 is an error naming the first difference; then rank 0's parameters are
//   broadcast (identical initial weights whatever each rank's initialisation did);
// - the gradients are all-reduced in buckets (reverse parameter order; the first at most 1 MiB,
//   then bucketBytes, default 25 MiB like DDP) as a token-weighted mean: each rank scales its
//   gradient by its tokens, the sum is divided by the global tokens; the step's loss, tokens and
//   stop flag travel in the last bucket. With overlap (default) each bucket's all-reduce starts
//   during backward, from lib/autograd.ts's withGradReadyHook, as soon as it and every bucket
//   before it are final; lmkit_gloo.node runs them in issue order in worker threads;
// - CUDA parameters on a real GPU are all-reduced in place by NCCL (./nccl.ts), others by Gloo
//   in host memory (LMKIT_DIST_BACKEND);
// - clipping then sees identical gradients on every rank (the global norm), and every rank
//   steps the same optimizer on them;
// - a stop asked on any rank (stopWhen: Ctrl-C) is agreed in the step's all-reduce;
// - evaluation runs on rank 0 only; the result is broadcast (as float64 bits) so that early
//   stopping decides alike on every rank; only rank 0 writes checkpoints, logs and the report;
// - the recurrent state carried between BPTT windows is per stream: at a save it is gathered
//   into the global (rows x H) layout a single process would save, and on resume each rank
//   takes its rows again, so checkpoints do not depend on the world size.
import type { Module } from '../nn/module.js';
// lib/dist sits below lib/train (DESIGN.md): the trainer's types are restated structurally here.
/** An evaluation's result (the trainer's EvalResult). */
export interface RankEvalResult {
  loss: number;
  ppl: number;
  tokens: number;
}
/** The Trainer's reduceGradients hook (TrainerOptions.reduceGradients; see GradientReducer there). */
export type ReduceGradients = ((params: readonly Tensor[], local: { loss: number; tokens: number }) => Promise<{ loss: number; tokens: number }>) & {
  beginBackward?: (params: readonly Tensor[], local: { loss: number; tokens: number }) => (leaf: Tensor) => void;
};
/** The run options data parallelism looks at (a part of TrainRunOptions). */
export interface DataParallelRunOptions {
  model?: string;
  optimizer?: string;
  batch?: number;
  resume?: string;
}
import { native } from '../native/index.js';
import { Tensor, keep } from '../tensor.js';
import type { ProcessGroup } from './group.js';
import { NcclGroup, ncclModule } from './nccl.js';

export interface DataParallelOptions {
  /** Gradient bucket size in bytes (default LMKIT_DIST_BUCKET_MB or 25 MiB). */
  bucketBytes?: number;
  /** The first bucket's size (the first ready in backward; default min(1 MiB, bucketBytes), DDP's). */
  firstBucketBytes?: number;
  /** Start each bucket's all-reduce during backward, as soon as it is ready (default true; LMKIT_DIST_OVERLAP=0: after backward). */
  overlap?: boolean;
}

/** Models whose batches split by rows into an exact share per rank. */
export const DATA_PARALLEL_MODELS = ['loglinear', 'ffnn', 'rnn', 'lstm', 'transformer', 'mamba'] as const;

export class DataParallel {
  readonly bucketBytes: number;
  readonly firstBucketBytes: number;
  readonly overlap: boolean;

  constructor(
    readonly group: ProcessGroup,
    opts: DataParallelOptions = {},
  ) {
    const mb = process.env.LMKIT_DIST_BUCKET_MB;
    this.bucketBytes = opts.bucketBytes ?? (mb ? Math.floor(Number(mb) * 2 ** 20) : 25 * 2 ** 20);
    if (!(this.bucketBytes >= 4)) throw new RangeError(`bucketBytes must be >= 4, got ${this.bucketBytes}${opts.bucketBytes === undefined ? ` (LMKIT_DIST_BUCKET_MB=${mb})` : ''}`);
    this.firstBucketBytes = opts.firstBucketBytes ?? Math.min(2 ** 20, this.bucketBytes);
    if (!(this.firstBucketBytes >= 4)) throw new RangeError(`firstBucketBytes must be >= 4, got ${this.firstBucketBytes}`);
    this.overlap = opts.overlap ?? process.env.LMKIT_DIST_OVERLAP !== '0';
  }

  get rank(): number {
    return this.group.rank;
  }
  get worldSize(): number {
    return this.group.worldSize;
  }
  /** Rank 0: the one that evaluates, logs and saves. */
  get isMain(): boolean {
    return this.group.rank === 0;
  }

  /**
   * The run's input with the global batch: a given batch is per rank (x world size); without
   * one, the model's default per rank (`defaultBatch`) x world size; a resume without a batch
   * keeps the checkpoint's (already global) batch.
   */
  globalInput<I extends DataParallelRunOptions>(input: I, defaultBatch: (model: string) => number | undefined): I {
    if (input.batch !== undefined) return { ...input, batch: input.batch * this.worldSize };
    if (input.resume !== undefined || input.model === undefined) return input;
    const d = defaultBatch(input.model);
    return d === undefined ? input : { ...input, batch: d * this.worldSize };
  }

  /** Throws for what data-parallel training does not support. */
  checkRun(o: DataParallelRunOptions): void {
    if (!(DATA_PARALLEL_MODELS as readonly (string | undefined)[]).includes(o.model)) {
      throw new Error(`data-parallel training (--nproc) supports --model ${DATA_PARALLEL_MODELS.join(', ')}; not '${o.model}'`);
    }
    if (o.optimizer === 'sophia') throw new Error('data-parallel training does not support --optimizer sophia yet (its Hessian estimate is per rank)');
    const batch = o.batch;
    if (batch !== undefined && batch < this.worldSize) throw new Error(`the global batch ${batch} is smaller than the world size ${this.worldSize}`);
  }

  /** Checks that every rank runs the same model (see checkSame), then broadcasts rank 0's parameters. */
  async start(model: Module, description: Record<string, unknown>): Promise<void> {
    const parameters = Object.fromEntries(model.namedParameters().map(([n, t]) => [n, t.shape]));
    await this.checkSame({ ...description, parameters });
    await this.broadcastTensors(model.parameters());
    await this.chooseBackend(model.parameters());
  }

  /** 'nccl' when the gradients are all-reduced by NCCL on the GPU, else 'gloo' (host memory). */
  get backend(): 'gloo' | 'nccl' {
    return this.nccl ? 'nccl' : 'gloo';
  }
  private nccl: NcclGroup | null = null;
  private ncclStream = 0n;
  /** The step's loss, tokens and stop flag, all-reduced through Gloo beside NCCL's buckets. */
  private readonly scalars = new Float32Array(3);

  /**
   * LMKIT_DIST_BACKEND: 'auto' (default: NCCL for parameters on a real GPU, Gloo otherwise, the
   * emulated CUDA backend included), 'gloo' (CUDA gradients staged through host memory) or
   * 'nccl' (the loader's failure is an error, as is a model that is not on a GPU).
   */
  private async chooseBackend(params: readonly Tensor[]): Promise<void> {
    const want = process.env.LMKIT_DIST_BACKEND || 'auto';
    if (want !== 'auto' && want !== 'gloo' && want !== 'nccl') throw new Error(`LMKIT_DIST_BACKEND must be auto, gloo or nccl, not '${want}'`);
    const emulated = native.emulation !== undefined;
    const onGpu = params.length > 0 && params.every((p) => p.device === 'cuda') && !emulated;
    if (want === 'gloo' || (want === 'auto' && !onGpu)) return;
    ncclModule(); // one line when NCCL cannot load
    if (!onGpu) {
      throw new Error(
        `LMKIT_DIST_BACKEND=nccl needs the model on a GPU (--device cuda with the CUDA addon); it is on ${emulated ? 'the emulated CUDA backend (whose gradients go through Gloo)' : 'the CPU'}`,
      );
    }
    const cs = native.cudaStream!();
    this.nccl = await NcclGroup.init(this.group, cs.device);
    this.ncclStream = cs.stream;
  }

  /** Frees the NCCL communicator (when there is one). */
  close(): void {
    this.nccl?.destroy();
    this.nccl = null;
  }

  /** This rank's rows [lo, hi) of a global batch of `rows` rows. */
  share(rows: number): [number, number] {
    const W = this.worldSize;
    return [Math.floor((this.rank * rows) / W), Math.floor(((this.rank + 1) * rows) / W)];
  }

  /** This rank's shard of every training batch, for the batch makers of lib/data (lib/data/shard.ts). */
  get dataShard(): { rank: number; world: number } {
    return { rank: this.rank, world: this.worldSize };
  }

  /**
   * Checks that every rank runs the same thing (a JSON-able description: options, model config,
   * parameter names and shapes); throws naming the first difference from rank 0.
   */
  async checkSame(what: Record<string, unknown>, tag = 'run'): Promise<void> {
    const kv = this.group.kv;
    const mine = flatten(what);
    await kv.set(`lmkit/sig/${tag}/${this.rank}`, JSON.stringify(mine));
    const all: [string, string][][] = [];
    for (let r = 0; r < this.worldSize; r++) {
      // Ranks get here after loading the corpus, at their own pace: the collective timeout, not the rendezvous's.
      all.push(JSON.parse(Buffer.from(await kv.get(`lmkit/sig/${tag}/${r}`, this.group.opTimeoutMs)).toString('utf8')) as [string, string][]);
    }
    // Every rank has read every signature before any rank may fail on a difference (and exit).
    if ((await kv.add(`lmkit/sig/${tag}/read`, 1)) === this.worldSize) await kv.set(`lmkit/sig/${tag}/all-read`, '1');
    await kv.wait([`lmkit/sig/${tag}/all-read`], this.group.opTimeoutMs);
    const ref = new Map(all[0]);
    for (let r = 1; r < this.worldSize; r++) {
      const other = new Map(all[r]);
      for (const [k, v] of [...all[0]!, ...all[r]!]) {
        const a = ref.get(k);
        const b = other.get(k);
        if (a !== b) {
          throw new Error(
            `data-parallel: rank ${r} does not run what rank 0 runs: ${k} is ${b ?? '(absent)'} on rank ${r}, ${a ?? '(absent)'} on rank 0 ` +
              '(every rank needs the same flags, corpus and vocabulary)',
          );
        }
        void v;
      }
    }
  }

  /** Copies rank 0's values of `tensors` into every rank's (float32 tensors). */
  async broadcastTensors(tensors: readonly Tensor[]): Promise<void> {
    for (const bucket of this.buckets(tensors.map((_, i) => i), tensors.map((t) => t.size))) {
      const buf = new Float32Array(bucket.elements);
      if (this.isMain) for (const i of bucket.items) buf.set(tensors[i]!.storage.read() as Float32Array, bucket.offsets.get(i)!);
      await this.group.broadcast(buf, 0);
      if (!this.isMain) {
        for (const i of bucket.items) {
          const o = bucket.offsets.get(i)!;
          tensors[i]!.storage.write(buf.subarray(o, o + tensors[i]!.size));
        }
      }
    }
  }

  /** Counters of the overlap of the gradient all-reduce with backward (LMKIT_DIST_PROFILE prints them per step). */
  readonly overlapStats = {
    /** Steps whose gradients were reduced. */
    steps: 0,
    /** Buckets whose all-reduce was issued from the autograd hook, before backward returned. */
    issuedInBackward: 0,
    /** Of those, the ones the native worker thread had started (entered Gloo) before backward returned. */
    startedInBackward: 0,
    /** ... and the ones it had finished before backward returned. */
    finishedInBackward: 0,
    /** Buckets in all. */
    buckets: 0,
  };

  /**
   * The gradient reducer for the Trainer (see the file's header). With overlap (the default;
   * `overlap: false` or LMKIT_DIST_OVERLAP=0 turn it off) its `beginBackward` returns the
   * autograd hook that starts each bucket's all-reduce as soon as the bucket's gradients are
   * final, in bucket order; the reducer itself then starts the rest and waits for all.
   */
  reducer(): ReduceGradients {
    const reduce = async (params: readonly Tensor[], local: { loss: number; tokens: number }): Promise<{ loss: number; tokens: number }> => {
      const prof = process.env.LMKIT_DIST_PROFILE ? performance.now() : 0;
      let st = this.stepState;
      this.stepState = null;
      const counts = this.group.collectiveStats();
      let started = 0;
      let finished = 0;
      if (st !== null) {
        if (st.plan.params !== this.planFor(params).params || st.tokens !== local.tokens) {
          throw new Error('data-parallel: the step reduced is not the one whose backward was hooked');
        }
        // Read as backward returns: what the native threads did meanwhile.
        started = Math.max(0, Math.min(st.launched, counts.started - st.native.started));
        finished = Math.max(0, Math.min(st.launched, counts.finished - st.native.finished));
        this.overlapStats.issuedInBackward += st.launched;
        this.overlapStats.startedInBackward += started;
        this.overlapStats.finishedInBackward += finished;
      } else {
        st = this.newStep(this.planFor(params), local);
      }
      const inBackward = st.launched;
      // What the hook did not report (parameters without a gradient this step) is final now.
      st.remaining.fill(0);
      this.launchReady(st);
      const c0 = prof ? performance.now() : 0;
      await Promise.all(st.inflight);
      const commMs = prof ? performance.now() - c0 : 0;
      const { plan } = st;
      this.overlapStats.steps++;
      this.overlapStats.buckets += plan.buckets.length;
      const tail = this.nccl ? this.scalars : this.bucketBuffers[plan.buckets.length - 1]!;
      const n = tail.length;
      this.stopAgreed = tail[n - 1]! > 0;
      const global = { loss: tail[n - 3]! / tail[n - 2]!, tokens: tail[n - 2]! };
      if (Number.isFinite(global.loss) && this.nccl) {
        // NCCL reduced the gradients in place.
        const inv = 1 / global.tokens;
        for (const p of plan.params) p.grad!.storage.scale(inv);
      } else if (Number.isFinite(global.loss)) {
        const inv = 1 / global.tokens;
        plan.buckets.forEach((b, bi) => {
          const buf = this.bucketBuffers[bi]!;
          for (const i of b.items) {
            const p = plan.params[i]!;
            const o = b.offsets.get(i)!;
            if (!p.grad) p.grad = keep(Tensor.zeros(p.shape));
            p.grad.storage.write(buf.subarray(o, o + p.size));
            p.grad.storage.scale(inv);
          }
        });
      }
      if (prof) {
        process.stderr.write(
          `rank ${this.rank}: gradient all-reduce ${(performance.now() - prof).toFixed(1)} ms after backward (waiting on the wire ${commMs.toFixed(1)} ms), ` +
            `${plan.buckets.length} buckets, ${inBackward} issued during backward, ${started} started and ${finished} finished in Gloo before backward returned\n`,
        );
      }
      return global;
    };
    if (!this.overlap) return reduce;
    return Object.assign(reduce, {
      beginBackward: (params: readonly Tensor[], local: { loss: number; tokens: number }): ((leaf: Tensor) => void) => {
        const plan = this.planFor(params);
        const st = this.newStep(plan, local);
        this.stepState = st;
        return (leaf: Tensor) => {
          const i = plan.index.get(leaf);
          if (i === undefined) return;
          const b = plan.bucketOf[i]!;
          if (--st.remaining[b]! === 0 && b === st.launched) this.launchReady(st);
        };
      },
    });
  }

  /** Whether the ranks agreed, in the last step's all-reduce, to stop (one of them asked: see stopWhen). */
  private stopAgreed = false;
  private stopAsked: (() => boolean) | undefined;

  /**
   * The Trainer's shouldStop for a data-parallel run: `local` (e.g. this rank's Ctrl-C flag) is
   * read as every step's gradients are packed and combined with the other ranks' in the step's
   * all-reduce, so that every rank stops after the same step when any rank asked.
   */
  stopWhen(local: (() => boolean) | undefined): () => boolean {
    this.stopAsked = local;
    return () => this.stopAgreed;
  }

  private stepState: OverlapStep | null = null;
  private plan: BucketPlan | null = null;

  /** The bucket plan of `params` (kept while the parameter list is the same). */
  private planFor(params: readonly Tensor[]): BucketPlan {
    const p = this.plan;
    const unique = [...new Set(params)];
    if (p && p.params.length === unique.length && p.params.every((t, i) => t === unique[i])) return p;
    // Reverse registration order, as DDP: the last parameters' gradients are final first.
    const order = unique.map((_, i) => unique.length - 1 - i);
    const buckets = this.buckets(order, unique.map((t) => t.size));
    const bucketOf: number[] = [];
    buckets.forEach((b, bi) => b.items.forEach((i) => (bucketOf[i] = bi)));
    this.plan = { params: unique, index: new Map(unique.map((t, i) => [t, i])), buckets, bucketOf };
    return this.plan;
  }

  private newStep(plan: BucketPlan, local: { loss: number; tokens: number }): OverlapStep {
    return {
      plan,
      weight: Number.isFinite(local.loss) ? local.tokens : 0,
      loss: local.loss,
      tokens: local.tokens,
      remaining: plan.buckets.map((b) => b.items.length),
      launched: 0,
      inflight: [],
      native: this.group.collectiveStats(),
    };
  }

  /** Packs and starts the all-reduce of every bucket, in order, whose gradients are all final. */
  private launchReady(st: OverlapStep): void {
    const { plan } = st;
    while (st.launched < plan.buckets.length && st.remaining[st.launched] === 0) {
      const bi = st.launched++;
      const bucket = plan.buckets[bi]!;
      const last = bi === plan.buckets.length - 1;
      if (this.nccl) {
        this.launchNccl(st, bucket, last);
        continue;
      }
      const buf = this.bucketBuffer(bi, bucket.elements + (last ? 3 : 0));
      for (const i of bucket.items) {
        const p = plan.params[i]!;
        const o = bucket.offsets.get(i)!;
        const g = p.grad;
        if (!g) {
          buf.fill(0, o, o + p.size);
          continue;
        }
        // Token weighting in place (native); the gradient is rewritten after the reduce anyway.
        if (st.weight !== 1) g.storage.scale(st.weight);
        g.storage.readInto(buf, o);
      }
      if (last) {
        // The step's loss and tokens, and whether this rank asks to stop, travel with the last bucket.
        buf[buf.length - 3] = Number.isFinite(st.loss) ? st.loss * st.tokens : st.loss;
        buf[buf.length - 2] = st.tokens;
        buf[buf.length - 1] = this.stopAsked?.() ? 1 : 0;
      }
      st.inflight.push(this.group.allreduceSum(buf));
    }
  }

  /** Rank 0 evaluates; every rank gets its result (bit-exact: float64 bytes are broadcast). */
  async evaluate(fn: () => RankEvalResult): Promise<RankEvalResult> {
    const f64 = new Float64Array(3);
    if (this.isMain) {
      const r = fn();
      f64.set([r.loss, r.ppl, r.tokens]);
    }
    await this.group.broadcast(new Float32Array(f64.buffer), 0);
    return { loss: f64[0]!, ppl: f64[1]!, tokens: f64[2]! };
  }

  /**
   * The carried recurrent state of every rank in the global layout (rows of all ranks, rank
   * order), on every rank; `globalRows` is the global batch. Tensors are (rows_r, H) per rank.
   */
  async gatherRows(local: Record<string, Tensor> | null, globalRows: number): Promise<Record<string, Tensor> | null> {
    const has = new Float32Array([local ? 1 : 0]);
    await this.group.allreduceSum(has);
    if (has[0] !== this.worldSize) {
      if (has[0] !== 0) throw new Error('data-parallel: some ranks carry a recurrent state and others do not');
      return null;
    }
    const out: Record<string, Tensor> = {};
    const [lo] = this.share(globalRows);
    for (const name of Object.keys(local!).sort()) {
      const t = local![name]!;
      const width = t.size / t.shape[0]!;
      const buf = new Float32Array(globalRows * width);
      buf.set(t.storage.read() as Float32Array, lo * width);
      await this.group.allreduceSum(buf);
      out[name] = keep(Tensor.fromArray(buf, [globalRows, ...t.shape.slice(1)]));
    }
    return out;
  }

  /** This rank's rows of a carried state saved in the global layout. */
  takeRows(saved: Map<string, Tensor>): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const [name, t] of saved) {
      const rows = t.shape[0]!;
      const width = t.size / rows;
      const [lo, hi] = this.share(rows);
      const data = (t.storage.read() as Float32Array).slice(lo * width, hi * width);
      out.set(name, Tensor.fromArray(data, [hi - lo, ...t.shape.slice(1)]));
    }
    return out;
  }

  /** launchReady's NCCL path: the bucket's gradients summed in place on the GPU, the scalars through Gloo. */
  private launchNccl(st: OverlapStep, bucket: Bucket, last: boolean): void {
    const ptrs: bigint[] = [];
    const counts: number[] = [];
    for (const i of bucket.items) {
      const p = st.plan.params[i]!;
      if (!p.grad) p.grad = keep(Tensor.zeros(p.shape, 'float32', p.device));
      if (st.weight !== 1) p.grad.storage.scale(st.weight);
      ptrs.push(p.grad.storage.devicePointer!());
      counts.push(p.size);
    }
    st.inflight.push(this.nccl!.allreduceMany(ptrs, counts, this.ncclStream));
    if (last) {
      this.scalars[0] = Number.isFinite(st.loss) ? st.loss * st.tokens : st.loss;
      this.scalars[1] = st.tokens;
      this.scalars[2] = this.stopAsked?.() ? 1 : 0;
      st.inflight.push(this.group.allreduceSum(this.scalars));
    }
  }

  private readonly bucketBuffers: Float32Array[] = [];
  /** Bucket `i`'s buffer of `n` floats, kept from step to step (no allocation, no page faults). */
  private bucketBuffer(i: number, n: number): Float32Array {
    let b = this.bucketBuffers[i];
    if (!b || b.length !== n) this.bucketBuffers[i] = b = new Float32Array(n);
    return b;
  }

  /**
   * Consecutive runs of `order`'s items (by element count) of at most bucketBytes each (an item
   * larger than that alone); the first bucket holds at most firstBucketBytes (DDP's 1 MiB: the
   * first bucket is ready soonest, so its all-reduce starts early in backward).
   */
  private buckets(order: readonly number[], sizes: readonly number[]): Bucket[] {
    const out: Bucket[] = [];
    let cur: Bucket | null = null;
    const first = Math.max(1, Math.floor(this.firstBucketBytes / 4));
    const rest = Math.max(1, Math.floor(this.bucketBytes / 4));
    for (const i of order) {
      const n = sizes[i]!;
      if (cur === null || (cur.elements > 0 && cur.elements + n > (out.length === 1 ? first : rest))) {
        cur = { items: [], offsets: new Map(), elements: 0 };
        out.push(cur);
      }
      cur.offsets.set(i, cur.elements);
      cur.items.push(i);
      cur.elements += n;
    }
    if (out.length === 0) out.push({ items: [], offsets: new Map(), elements: 0 });
    return out;
  }
}

interface Bucket {
  items: number[];
  offsets: Map<number, number>;
  elements: number;
}

/** The parameters (unique, registration order) and their buckets (reverse order). */
interface BucketPlan {
  params: Tensor[];
  index: Map<Tensor, number>;
  buckets: Bucket[];
  bucketOf: number[];
}

/** One step's reduction in progress. */
interface OverlapStep {
  plan: BucketPlan;
  weight: number;
  loss: number;
  tokens: number;
  /** Per bucket: its parameters whose gradient is not final yet. */
  remaining: number[];
  /** Buckets started (all before this index). */
  launched: number;
  inflight: Promise<void>[];
  native: { issued: number; started: number; finished: number };
}

/** [path, JSON value] pairs of a nested object, in key order. */
function flatten(o: unknown, prefix = ''): [string, string][] {
  if (o === null || typeof o !== 'object' || (Array.isArray(o) && o.every((x) => typeof x !== 'object'))) {
    return [[prefix || '(value)', JSON.stringify(o)]];
  }
  const out: [string, string][] = [];
  const entries = Array.isArray(o) ? o.map((v, i) => [String(i), v] as const) : Object.entries(o as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1));
  for (const [k, v] of entries) out.push(...flatten(v, prefix ? `${prefix}.${k}` : k));
  return out;
}
