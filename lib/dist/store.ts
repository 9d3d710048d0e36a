// The rendezvous key-value store (PyTorch TCPStore semantics): a server in rank 0's process
// on MASTER_ADDR:MASTER_PORT, a client in every rank (rank 0 included). Values are bytes;
// `get` and `wait` block (server side) until the keys exist or the timeout passes; `add`
// treats the value as a decimal integer (as TCPStore does) and returns the new value.
//
// Wire protocol (also spoken by the C++ client in native/dist/store_client.cpp, which Gloo's
// rendezvous uses). Every frame is `u32 length (LE, of the rest) | body`.
//   request body:  u8 op | fields        response body: u8 status (0 ok, 1 timeout, 2 error) | payload
//   strings/bytes: u32 length | bytes    integers: i64 LE; timeouts: u32 milliseconds
//   1 SET   key value               -> ok
//   2 GET   key timeout             -> ok value | timeout
//   3 ADD   key delta:i64           -> ok value:i64
//   4 WAIT  n key*n timeout         -> ok | timeout
//   5 CHECK n key*n                 -> ok u8 (1 when all exist)
//   6 HELLO rank:u32 world:u32      -> ok | error message   (this connection is rank's lifeline)
//   7 BYE                           -> ok                   (a clean end: closing is not a loss)
//   8 DEL   key                     -> ok u8 (1 when it existed)
// Requests on one connection are answered in order; a client sends the next after the answer.
// A connection that said HELLO and closes without BYE marks its rank lost: the server sets
// `lmkit/lost` to the rank, emits 'lost', answers every pending get/wait with an error naming
// the rank, and sends every other connection an unsolicited notice frame (status 3 | u32 rank),
// so that the others name the lost rank even after rank 0 itself has gone.
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';

export const Op = { SET: 1, GET: 2, ADD: 3, WAIT: 4, CHECK: 5, HELLO: 6, BYE: 7, DEL: 8 } as const;
export const Status = { OK: 0, TIMEOUT: 1, ERROR: 2, LOST: 3 } as const;
/** The key under which the server records a rank whose connection closed without BYE. */
export const LOST_KEY = 'lmkit/lost';
const MAX_FRAME = 1 << 30;

/** Thrown by `get`/`wait` when the keys did not appear in time. */
export class StoreTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreTimeoutError';
  }
}

// ---- encoding -------------------------------------------------------------------------

class Writer {
  private parts: Buffer[] = [];
  u8(v: number): this {
    this.parts.push(Buffer.from([v]));
    return this;
  }
  u32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v >>> 0);
    this.parts.push(b);
    return this;
  }
  i64(v: bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigInt64LE(v);
    this.parts.push(b);
    return this;
  }
  bytes(v: Uint8Array | string): this {
    const b = typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
    this.u32(b.length);
    this.parts.push(b);
    return this;
  }
  frame(): Buffer {
    const body = Buffer.concat(this.parts);
    const head = Buffer.alloc(4);
    head.writeUInt32LE(body.length);
    return Buffer.concat([head, body]);
  }
}

class Reader {
  private at = 0;
  constructor(private readonly b: Buffer) {}
  private need(n: number): void {
    if (this.at + n > this.b.length) throw new Error('store: truncated message');
  }
  u8(): number {
    this.need(1);
    return this.b[this.at++]!;
  }
  u32(): number {
    this.need(4);
    const v = this.b.readUInt32LE(this.at);
    this.at += 4;
    return v;
  }
  i64(): bigint {
    this.need(8);
    const v = this.b.readBigInt64LE(this.at);
    this.at += 8;
    return v;
  }
  bytes(): Buffer {
    const n = this.u32();
    this.need(n);
    const v = this.b.subarray(this.at, this.at + n);
    this.at += n;
    return v;
  }
  str(): string {
    return this.bytes().toString('utf8');
  }
}

/** Splits a byte stream into frames; calls `onFrame` with each body. Throws on an oversized frame. */
function framer(onFrame: (body: Buffer) => void): (chunk: Buffer) => void {
  let buf: Buffer = Buffer.alloc(0);
  return (chunk) => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    while (buf.length >= 4) {
      const n = buf.readUInt32LE(0);
      if (n > MAX_FRAME) throw new Error(`store: frame of ${n} bytes`);
      if (buf.length < 4 + n) break;
      const body = buf.subarray(4, 4 + n);
      buf = buf.subarray(4 + n);
      onFrame(Buffer.from(body));
    }
  };
}

// ---- server ---------------------------------------------------------------------------

interface Waiter {
  keys: string[];
  done: () => void;
  fail: (message: string) => void;
  timer: NodeJS.Timeout;
}

export interface StoreServerOptions {
  host: string;
  port: number;
  /** The world size HELLO checks against (0: not checked). */
  worldSize?: number;
}

/** What a StoreServer reports: a rank said HELLO / BYE, a rank was lost, a HELLO was refused. */
export type StoreServerEvent = 'hello' | 'bye' | 'lost' | 'helloError';

/** The store's server (rank 0). `listen()` resolves once bound; a port in use is a clear error. */
export class StoreServer {
  // Listeners of its own (not Node's EventEmitter), so that the published types need no @types/node.
  private readonly listeners = new Map<StoreServerEvent, Set<(arg: never) => void>>();
  private readonly data = new Map<string, Buffer>();
  private waiters = new Set<Waiter>();
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  /** Ranks that said HELLO (rank -> connection) and those that said BYE. */
  private readonly ranks = new Map<number, Socket>();
  readonly departed = new Set<number>();
  /** Errors met by HELLO (a wrong world size, a duplicate rank), for rank 0's own report. */
  readonly helloErrors: string[] = [];
  lost: number | null = null;

  constructor(readonly opts: StoreServerOptions) {
    this.server = createServer((s) => this.accept(s));
  }

  /** Ranks that said HELLO and are still connected. */
  get rankIds(): number[] {
    return [...this.ranks.keys()];
  }

  /** 'hello', 'bye', 'lost': the rank; 'helloError': the reason a HELLO was refused. */
  on(event: 'hello' | 'bye' | 'lost', fn: (rank: number) => void): this;
  on(event: 'helloError', fn: (reason: string) => void): this;
  on(event: StoreServerEvent, fn: (arg: never) => void): this {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(fn);
    return this;
  }

  off(event: 'hello' | 'bye' | 'lost', fn: (rank: number) => void): this;
  off(event: 'helloError', fn: (reason: string) => void): this;
  off(event: StoreServerEvent, fn: (arg: never) => void): this {
    this.listeners.get(event)?.delete(fn);
    return this;
  }

  private emit(event: StoreServerEvent, arg: number | string): void {
    for (const fn of [...(this.listeners.get(event) ?? [])]) (fn as (a: number | string) => void)(arg);
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (e: NodeJS.ErrnoException): void => {
        const where = `${this.opts.host}:${this.opts.port}`;
        if (e.code === 'EADDRINUSE') reject(new Error(`rendezvous: the master port ${where} is in use (another run or program holds it): pick another --master-port`));
        else if (e.code === 'EADDRNOTAVAIL') reject(new Error(`rendezvous: cannot listen on ${where}: ${this.opts.host} is not an address of this machine (--master-addr must be rank 0's own address)`));
        else reject(new Error(`rendezvous: cannot listen on ${where}: ${e.message}`));
      };
      this.server.once('error', onError);
      this.server.listen(this.opts.port, this.opts.host, () => {
        this.server.off('error', onError);
        const a = this.server.address();
        resolve(typeof a === 'object' && a ? a.port : this.opts.port);
      });
    });
  }

  /** The bound port (after listen). */
  get port(): number {
    const a = this.server.address();
    return typeof a === 'object' && a ? a.port : this.opts.port;
  }

  close(): Promise<void> {
    for (const w of this.waiters) clearTimeout(w.timer);
    this.waiters.clear();
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private has(keys: string[]): boolean {
    return keys.every((k) => this.data.has(k));
  }

  private set(key: string, value: Buffer): void {
    this.data.set(key, value);
    for (const w of [...this.waiters]) {
      if (this.has(w.keys)) {
        this.waiters.delete(w);
        clearTimeout(w.timer);
        w.done();
      }
    }
  }

  private whenPresent(keys: string[], timeoutMs: number, ok: () => void, timeout: () => void, fail: (m: string) => void): void {
    if (this.has(keys)) return ok();
    const w: Waiter = {
      keys,
      done: ok,
      fail,
      timer: setTimeout(() => {
        this.waiters.delete(w);
        timeout();
      }, timeoutMs),
    };
    this.waiters.add(w);
  }

  private accept(s: Socket): void {
    this.sockets.add(s);
    s.setNoDelay(true);
    let rank: number | null = null;
    let bye = false;
    const reply = (status: number, fill?: (w: Writer) => void): void => {
      const w = new Writer().u8(status);
      fill?.(w);
      if (!s.destroyed) s.write(w.frame());
    };
    const missing = (keys: string[]): string => keys.filter((k) => !this.data.has(k)).join(', ');
    const handle = (body: Buffer): void => {
      const r = new Reader(body);
      const op = r.u8();
      switch (op) {
        case Op.SET: {
          const k = r.str();
          this.set(k, Buffer.from(r.bytes()));
          return reply(Status.OK);
        }
        case Op.GET: {
          const k = r.str();
          const t = r.u32();
          return this.whenPresent(
            [k],
            t,
            () => reply(Status.OK, (w) => w.bytes(this.data.get(k)!)),
            () => reply(Status.TIMEOUT, (w) => w.bytes(`key '${k}' not set within ${t} ms`)),
            (m) => reply(Status.ERROR, (w) => w.bytes(m)),
          );
        }
        case Op.ADD: {
          const k = r.str();
          const delta = r.i64();
          const old = this.data.get(k);
          let v = delta;
          if (old !== undefined) {
            const text = old.toString('utf8');
            if (!/^-?\d+$/.test(text)) return reply(Status.ERROR, (w) => w.bytes(`add: the value of '${k}' is not an integer`));
            v += BigInt(text);
          }
          this.set(k, Buffer.from(v.toString(), 'utf8'));
          return reply(Status.OK, (w) => w.i64(v));
        }
        case Op.WAIT: {
          const n = r.u32();
          const keys = Array.from({ length: n }, () => r.str());
          const t = r.u32();
          return this.whenPresent(
            keys,
            t,
            () => reply(Status.OK),
            () => reply(Status.TIMEOUT, (w) => w.bytes(`keys not set within ${t} ms: ${missing(keys)}`)),
            (m) => reply(Status.ERROR, (w) => w.bytes(m)),
          );
        }
        case Op.CHECK: {
          const n = r.u32();
          const keys = Array.from({ length: n }, () => r.str());
          return reply(Status.OK, (w) => w.u8(this.has(keys) ? 1 : 0));
        }
        case Op.DEL: {
          const k = r.str();
          const had = this.data.delete(k);
          return reply(Status.OK, (w) => w.u8(had ? 1 : 0));
        }
        case Op.HELLO: {
          const rk = r.u32();
          const world = r.u32();
          const expected = this.opts.worldSize ?? 0;
          let err: string | null = null;
          if (expected > 0 && world !== expected) {
            err = `world size mismatch: rank ${rk} was started with world size ${world}, the master (rank 0) with ${expected}`;
          } else if (expected > 0 && rk >= expected) {
            err = `rank ${rk} is out of range for world size ${expected} (ranks 0..${expected - 1})`;
          } else if (this.ranks.has(rk)) {
            err = `rank ${rk} arrived twice (two workers were given the same RANK)`;
          }
          if (err !== null) {
            this.helloErrors.push(err);
            this.emit('helloError', err);
            return reply(Status.ERROR, (w) => w.bytes(err!));
          }
          rank = rk;
          this.ranks.set(rk, s);
          this.emit('hello', rk);
          return reply(Status.OK);
        }
        case Op.BYE:
          bye = true;
          if (rank !== null) {
            this.departed.add(rank);
            this.emit('bye', rank);
          }
          return reply(Status.OK);
        default:
          reply(Status.ERROR, (w) => w.bytes(`unknown store op ${op}`));
          s.destroy();
      }
    };
    const feed = framer((body) => {
      try {
        handle(body);
      } catch (e) {
        reply(Status.ERROR, (w) => w.bytes((e as Error).message));
      }
    });
    s.on('data', (chunk) => {
      try {
        feed(chunk);
      } catch {
        s.destroy();
      }
    });
    s.on('error', () => {});
    s.on('close', () => {
      this.sockets.delete(s);
      if (rank !== null && !bye) {
        if (this.ranks.get(rank) === s) this.ranks.delete(rank);
        if (this.lost === null) {
          this.lost = rank;
          this.set(LOST_KEY, Buffer.from(String(rank), 'utf8'));
          const notice = new Writer().u8(Status.LOST).u32(rank).frame();
          for (const other of this.sockets) if (!other.destroyed) other.write(notice);
          const waiting = [...this.waiters];
          this.waiters.clear();
          for (const w of waiting) {
            clearTimeout(w.timer);
            w.fail(`rank ${rank} was lost (its connection to the store closed without a goodbye)`);
          }
        }
        this.emit('lost', rank);
      }
    });
  }
}

// ---- client ---------------------------------------------------------------------------

export interface StoreClientOptions {
  host: string;
  port: number;
  /** How long connect() keeps retrying an unreachable master (ms; default 30 s). */
  connectTimeoutMs?: number;
  /** Default timeout of get/wait (ms; default 30 s, PyTorch's). */
  timeoutMs?: number;
}

interface Pending {
  resolve: (r: Reader) => void;
  reject: (e: Error) => void;
  what: string;
  /** How long to wait for the answer once sent (the server's own timeout plus a margin). */
  answerMs: number;
  timer?: NodeJS.Timeout;
}

/** A connection to the store. Requests queue and are sent one at a time. */
export class StoreClient {
  private socket: Socket | null = null;
  private queue: { frame: Buffer; p: Pending }[] = [];
  private inflight: Pending | null = null;
  /** Why the connection ended (null while open). */
  closedReason: string | null = null;
  /** The rank the server announced lost (its notice frame), else null. */
  lostRank: number | null = null;
  private readonly closeListeners: ((reason: string) => void)[] = [];
  readonly timeoutMs: number;

  private constructor(readonly opts: StoreClientOptions) {
    this.timeoutMs = opts.timeoutMs ?? 30_000;
  }

  /** Connects, retrying until connectTimeoutMs while the master is not up yet. */
  static async connect(opts: StoreClientOptions): Promise<StoreClient> {
    const c = new StoreClient(opts);
    await c.open();
    return c;
  }

  private async open(): Promise<void> {
    const deadline = Date.now() + (this.opts.connectTimeoutMs ?? 30_000);
    const where = `${this.opts.host}:${this.opts.port}`;
    let last = '';
    for (let delay = 50; ; delay = Math.min(delay * 2, 1000)) {
      try {
        this.socket = await new Promise<Socket>((resolve, reject) => {
          const left = Math.max(1, deadline - Date.now());
          const s = netConnect({ host: this.opts.host, port: this.opts.port });
          const t = setTimeout(() => {
            s.destroy();
            reject(new Error('connect timed out'));
          }, left);
          s.once('connect', () => {
            clearTimeout(t);
            resolve(s);
          });
          s.once('error', (e) => {
            clearTimeout(t);
            s.destroy();
            reject(e);
          });
        });
        break;
      } catch (e) {
        last = (e as Error).message;
        if (Date.now() + delay >= deadline) {
          throw new Error(
            `rendezvous: the master ${where} was unreachable for ${(this.opts.connectTimeoutMs ?? 30_000) / 1000} s (${last}); ` +
              'is rank 0 running, and are --master-addr/--master-port (MASTER_ADDR/MASTER_PORT) right?',
          );
        }
        await new Promise((r) => setTimeout(r, delay));
      }
    }
    const s = this.socket;
    s.setNoDelay(true);
    s.on('data', framer((body) => this.onReply(body)));
    s.on('error', (e) => this.fail(`connection to the store ${where} failed: ${e.message}`));
    s.on('close', () => this.fail(`connection to the store ${where} closed`));
  }

  private fail(reason: string): void {
    if (this.closedReason !== null) return;
    this.closedReason = reason;
    const err = new Error(`store: ${reason}`);
    if (this.inflight) clearTimeout(this.inflight.timer);
    this.inflight?.reject(err);
    this.inflight = null;
    for (const q of this.queue) q.p.reject(err);
    this.queue = [];
    for (const l of this.closeListeners) l(reason);
  }

  /** Called once when the connection ends (not after close()). */
  onClose(listener: (reason: string) => void): void {
    this.closeListeners.push(listener);
  }

  private onReply(body: Buffer): void {
    if (body[0] === Status.LOST) {
      this.lostRank ??= new Reader(body.subarray(1)).u32();
      return;
    }
    const p = this.inflight;
    this.inflight = null;
    if (p) {
      clearTimeout(p.timer);
      const r = new Reader(body);
      const status = r.u8();
      if (status === Status.OK) p.resolve(r);
      else if (status === Status.TIMEOUT) p.reject(new StoreTimeoutError(`store ${p.what}: ${r.str()}`));
      else p.reject(new Error(r.str()));
    }
    this.pump();
  }

  private pump(): void {
    if (this.inflight || this.queue.length === 0 || !this.socket) return;
    const next = this.queue.shift()!;
    this.inflight = next.p;
    // A peer that accepts but never answers (not an lmkit store) must not hang the rank.
    next.p.timer = setTimeout(() => {
      this.fail(`the store ${this.opts.host}:${this.opts.port} did not answer ${next.p.what} within ${next.p.answerMs / 1000} s (is it an lmkit store?)`);
      this.socket?.destroy();
    }, next.p.answerMs);
    this.socket.write(next.frame);
  }

  private request(w: Writer, what: string, waitMs = 0): Promise<Reader> {
    if (this.closedReason !== null) return Promise.reject(new Error(`store: ${this.closedReason}`));
    return new Promise((resolve, reject) => {
      this.queue.push({ frame: w.frame(), p: { resolve, reject, what, answerMs: waitMs + Math.max(5000, this.timeoutMs) } });
      this.pump();
    });
  }

  async set(key: string, value: Uint8Array | string): Promise<void> {
    await this.request(new Writer().u8(Op.SET).bytes(key).bytes(value), `set '${key}'`);
  }

  /** The value of `key`, waiting until it is set (or the timeout: StoreTimeoutError). */
  async get(key: string, timeoutMs = this.timeoutMs): Promise<Uint8Array> {
    const r = await this.request(new Writer().u8(Op.GET).bytes(key).u32(timeoutMs), `get '${key}'`, timeoutMs);
    return Buffer.from(r.bytes());
  }

  /** Adds `delta` to the integer at `key` (0 when unset) and returns the new value. */
  async add(key: string, delta: number | bigint): Promise<number> {
    const r = await this.request(new Writer().u8(Op.ADD).bytes(key).i64(BigInt(delta)), `add '${key}'`);
    return Number(r.i64());
  }

  /** Waits until every key is set (or the timeout: StoreTimeoutError). */
  async wait(keys: readonly string[], timeoutMs = this.timeoutMs): Promise<void> {
    const w = new Writer().u8(Op.WAIT).u32(keys.length);
    for (const k of keys) w.bytes(k);
    await this.request(w.u32(timeoutMs), `wait [${keys.join(', ')}]`, timeoutMs);
  }

  /** True when every key is set (does not wait). */
  async check(keys: readonly string[]): Promise<boolean> {
    const w = new Writer().u8(Op.CHECK).u32(keys.length);
    for (const k of keys) w.bytes(k);
    return (await this.request(w, 'check')).u8() === 1;
  }

  async delete(key: string): Promise<boolean> {
    return (await this.request(new Writer().u8(Op.DEL).bytes(key), `delete '${key}'`)).u8() === 1;
  }

  /** Names this connection rank `rank`'s lifeline; rejects on a world-size mismatch or duplicate rank. */
  async hello(rank: number, worldSize: number): Promise<void> {
    await this.request(new Writer().u8(Op.HELLO).u32(rank).u32(worldSize), 'hello');
  }

  /** Closes without a goodbye: the server then marks this rank lost (after an error). */
  destroy(): void {
    this.closedReason ??= 'closed';
    this.socket?.destroy();
  }

  /** Says a clean goodbye and closes. */
  async close(): Promise<void> {
    if (this.closedReason === null) {
      try {
        await this.request(new Writer().u8(Op.BYE), 'bye');
      } catch {
        // already gone
      }
    }
    this.closedReason ??= 'closed';
    this.socket?.destroy();
  }
}
