// A process group: the rendezvous (rank 0 serves the store on MASTER_ADDR:MASTER_PORT, every
// rank connects, says HELLO and waits for all ranks), then Gloo's full mesh over it, then
// float32 collectives. Operations run in the order they are issued, one at a time (what Gloo's
// matching by order needs; the native module keeps the order, so several may be in flight).
//
// Failures are clear errors, never hangs:
// - a master port in use, an unreachable master, a world size that the arriving ranks do not
//   match, ranks that do not arrive: within the rendezvous timeout (LMKIT_DIST_RENDEZVOUS_TIMEOUT
//   seconds, default 60);
// - a rank lost mid-run (killed, crashed): Gloo sees its connections close at once; the error
//   names the rank, which rank 0's store learned from that rank's lifeline closing without BYE;
// - a rank that stalls: each collective times out after LMKIT_DIST_TIMEOUT seconds (default 1800,
//   PyTorch's; it must cover rank 0's evaluations, which the others wait for).
import { hostname } from 'node:os';

import { secondsVar, type WorldInfo } from './env.js';
import { glooModule, type NativeGlooGroup } from './gloo.js';
import { StoreClient, StoreServer, StoreTimeoutError } from './store.js';

export interface ProcessGroupOptions extends WorldInfo {
  /** Rendezvous timeout (ms; default LMKIT_DIST_RENDEZVOUS_TIMEOUT or 60 s). */
  rendezvousTimeoutMs?: number;
  /** Timeout of each collective (ms; default LMKIT_DIST_TIMEOUT or 30 min). */
  timeoutMs?: number;
}

const isLoopback = (a: string): boolean => a === 'localhost' || a.startsWith('127.') || a === '::1';

/** The address Gloo binds for its pairs: GLOO_SOCKET_IFNAME (an interface), else loopback for a loopback master, else the host name. */
function glooEndpoint(masterAddr: string): { hostname?: string; iface?: string } {
  const iface = process.env.LMKIT_GLOO_IFACE ?? process.env.GLOO_SOCKET_IFNAME;
  if (iface) return { iface };
  if (process.env.LMKIT_GLOO_HOST) return { hostname: process.env.LMKIT_GLOO_HOST };
  return { hostname: isLoopback(masterAddr) ? '127.0.0.1' : hostname() };
}

export class ProcessGroup {
  readonly rank: number;
  readonly worldSize: number;
  readonly localRank: number;
  private closed = false;

  private constructor(
    readonly world: WorldInfo,
    private readonly store: StoreClient,
    private readonly server: StoreServer | null,
    private readonly gloo: NativeGlooGroup | null,
  ) {
    this.rank = world.rank;
    this.worldSize = world.worldSize;
    this.localRank = world.localRank;
  }

  /** Rendezvous and connect. Rejects with one clear line on every failure named above. */
  static async init(o: ProcessGroupOptions): Promise<ProcessGroup> {
    const rdvMs = o.rendezvousTimeoutMs ?? secondsVar('LMKIT_DIST_RENDEZVOUS_TIMEOUT', 60_000);
    const opMs = o.timeoutMs ?? secondsVar('LMKIT_DIST_TIMEOUT', 1_800_000);
    if (!Number.isSafeInteger(o.worldSize) || o.worldSize < 1) throw new Error(`world size must be an integer >= 1, got ${o.worldSize}`);
    if (!Number.isSafeInteger(o.rank) || o.rank < 0 || o.rank >= o.worldSize) {
      throw new Error(`rank ${o.rank} is out of range for world size ${o.worldSize}`);
    }
    // Load the module before any networking: where it cannot load, fail at once, on every rank.
    const mod = o.worldSize > 1 ? glooModule() : null;
    let server: StoreServer | null = null;
    if (o.rank === 0) {
      server = new StoreServer({ host: o.masterAddr, port: o.masterPort, worldSize: o.worldSize });
      await server.listen();
    }
    let store: StoreClient | null = null;
    try {
      store = await StoreClient.connect({ host: o.masterAddr, port: server?.port ?? o.masterPort, connectTimeoutMs: rdvMs, timeoutMs: rdvMs });
      await store.hello(o.rank, o.worldSize).catch((e: Error) => {
        throw new Error(`rendezvous: ${e.message}`);
      });
      await store.set(`lmkit/arrived/${o.rank}`, '1');
      await waitForRanks(store, server, o.worldSize, rdvMs);
      const port = server?.port ?? o.masterPort;
      const gloo =
        mod === null
          ? null
          : await mod
              .connect({ host: o.masterAddr, port, rank: o.rank, size: o.worldSize, prefix: 'gloo/', timeoutMs: rdvMs, ...glooEndpoint(o.masterAddr) })
              .catch((e: Error) => {
                throw new Error(`rendezvous: ${e.message.replace(/^gloo rendezvous: /, 'gloo: ')}`);
              });
      const g = new ProcessGroup({ ...o, masterPort: port }, store, server, gloo);
      g.opTimeoutMs = opMs;
      return g;
    } catch (e) {
      await store?.close();
      await server?.close();
      throw e;
    }
  }

  /** @internal */
  opTimeoutMs = 0;

  /** The store (shared keys between ranks: e.g. the configuration check, NCCL's unique id). */
  get kv(): StoreClient {
    return this.store;
  }

  /**
   * Issues `op` at once: the native module runs a group's collectives one at a time in the
   * order they were issued, so several may be in flight (gradient buckets started during
   * backward, from synchronous code) and every rank still runs them in program order.
   */
  private queued<T>(what: string, op: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error(`${what}: the process group is closed`));
    let run: Promise<T>;
    try {
      run = op();
    } catch (e) {
      run = Promise.reject(e as Error);
    }
    return run.catch(async (e: Error) => {
      throw new Error(await this.explain(what, e));
    });
  }

  /** The native collectives issued, started (inside Gloo's call, in a worker thread) and finished so far. */
  collectiveStats(): { issued: number; started: number; finished: number } {
    return this.gloo ? this.gloo.stats() : { issued: 0, started: 0, finished: 0 };
  }

  /** Sums `buf` over the ranks, in place. */
  allreduceSum(buf: Float32Array): Promise<void> {
    return this.queued('all-reduce', () => (this.gloo ? this.gloo.allreduce(buf) : Promise.resolve()));
  }

  /** Copies rank `root`'s `buf` into every rank's `buf`. */
  broadcast(buf: Float32Array, root = 0): Promise<void> {
    return this.queued('broadcast', () => (this.gloo ? this.gloo.broadcast(buf, root) : Promise.resolve()));
  }

  barrier(): Promise<void> {
    return this.queued('barrier', () => (this.gloo ? this.gloo.barrier() : Promise.resolve()));
  }

  /**
   * A collective's error, with the lost rank named: rank 0's store announces a rank whose
   * lifeline closed (a notice every connection receives before rank 0 itself can exit); a closed
   * store without a notice means rank 0 was lost. Waits up to 3 s for either to arrive.
   */
  private async explain(what: string, e: Error): Promise<string> {
    const msg = e.message.replace(/^gloo: /, '');
    const end = Date.now() + 3000;
    while (this.store.lostRank === null && this.store.closedReason === null && this.server?.lost == null && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const lost = this.server?.lost ?? this.store.lostRank;
    if (lost !== null && lost !== undefined) return `${what} failed: rank ${lost} was lost (its process ended or its connection dropped): ${msg}`;
    if (this.rank !== 0 && this.store.closedReason !== null) return `${what} failed: rank 0 (the master) was lost: its store connection closed (${msg})`;
    return `${what} failed on rank ${this.rank}: ${msg}`;
  }

  /**
   * Ends the group: a barrier (so that rank 0 does not close the store under the others), then a
   * clean goodbye; rank 0 waits (briefly) for every rank's goodbye before closing the store.
   * `clean: false` (after an error) skips the barrier.
   */
  async close(clean = true): Promise<void> {
    if (this.closed) return;
    if (clean && this.worldSize > 1) await this.barrier();
    this.closed = true;
    this.gloo?.close();
    if (clean) await this.store.close();
    else this.store.destroy();
    if (this.server) {
      const server = this.server;
      const deadline = Date.now() + 5000;
      // Clean: until every rank said goodbye. After an error: until the others have hung up (they
      // are failing too), so that the answers and notices already sent reach them (at most 5 s).
      const waiting = (): boolean =>
        clean ? server.departed.size < this.worldSize && server.lost === null : server.rankIds.some((r) => r !== 0);
      while (waiting() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      await server.close();
    }
  }
}

/** Waits until every rank said HELLO; fails fast on a HELLO error, else at the timeout naming the missing ranks. */
async function waitForRanks(store: StoreClient, server: StoreServer | null, world: number, timeoutMs: number): Promise<void> {
  const keys = Array.from({ length: world }, (_, r) => `lmkit/arrived/${r}`);
  const deadline = Date.now() + timeoutMs;
  let helloError: string | null = null;
  const onErr = (m: string): void => {
    helloError ??= m;
  };
  server?.on('helloError', onErr);
  try {
    for (;;) {
      if (server && server.helloErrors.length > 0) helloError ??= server.helloErrors[0]!;
      if (helloError !== null) throw new Error(`rendezvous: ${helloError}`);
      const left = deadline - Date.now();
      if (left <= 0) break;
      try {
        await store.wait(keys, Math.min(left, 250));
        return;
      } catch (e) {
        if (!(e instanceof StoreTimeoutError)) throw e;
      }
    }
    const missing: number[] = [];
    for (let r = 0; r < world; r++) if (!(await store.check([keys[r]!]))) missing.push(r);
    throw new Error(
      `rendezvous: ${world - missing.length} of ${world} ranks arrived within ${timeoutMs / 1000} s ` +
        `(missing: rank${missing.length > 1 ? 's' : ''} ${missing.join(', ')}); ` +
        'were they all started, with the same WORLD_SIZE / --nnodes x --nproc and the same master address?',
    );
  } finally {
    server?.off('helloError', onErr);
  }
}
