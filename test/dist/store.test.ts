// The rendezvous store (lib/dist/store.ts): TCPStore semantics over loopback.
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { LOST_KEY, StoreClient, StoreServer, StoreTimeoutError } from '../../lib/dist/store.js';

const servers: StoreServer[] = [];
const clients: StoreClient[] = [];
async function start(worldSize = 0): Promise<StoreServer> {
  const s = new StoreServer({ host: '127.0.0.1', port: 0, worldSize });
  await s.listen();
  servers.push(s);
  return s;
}
async function client(s: StoreServer): Promise<StoreClient> {
  const c = await StoreClient.connect({ host: '127.0.0.1', port: s.port, connectTimeoutMs: 2000, timeoutMs: 2000 });
  clients.push(c);
  return c;
}
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  for (const s of servers.splice(0)) await s.close();
});

describe('rendezvous store', () => {
  it('set/get round-trips bytes; get blocks until another client sets the key', async () => {
    const s = await start();
    const a = await client(s);
    const b = await client(s);
    await a.set('k', new Uint8Array([0, 1, 255]));
    expect([...(await b.get('k'))]).toEqual([0, 1, 255]);
    const pending = b.get('later', 5000);
    let got = false;
    void pending.then(() => (got = true));
    await new Promise((r) => setTimeout(r, 100));
    expect(got).toBe(false);
    await a.set('later', 'x');
    expect((await pending).toString()).toBe('x');
  });

  it('add counts atomically across clients, starting from 0', async () => {
    const s = await start();
    const cs = await Promise.all([client(s), client(s), client(s)]);
    const got = await Promise.all(cs.flatMap((c) => [c.add('n', 1), c.add('n', 1)]));
    expect(got.sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(await cs[0]!.add('n', -6)).toBe(0);
    expect(Buffer.from(await cs[1]!.get('n')).toString('utf8')).toBe('0');
  });

  it('wait resolves when all keys exist and times out naming the missing ones', async () => {
    const s = await start();
    const a = await client(s);
    const b = await client(s);
    const w = a.wait(['x', 'y'], 3000);
    await b.set('x', '1');
    await b.set('y', '2');
    await w;
    expect(await a.check(['x', 'y'])).toBe(true);
    expect(await a.check(['x', 'z'])).toBe(false);
    const t0 = Date.now();
    const e = await a.wait(['x', 'z'], 200).catch((err: Error) => err);
    expect(e).toBeInstanceOf(StoreTimeoutError);
    expect((e as Error).message).toContain('z');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
    await expect(a.get('never', 100)).rejects.toThrow(/never/);
    expect(await a.delete('x')).toBe(true);
    expect(await a.check(['x'])).toBe(false);
  });

  it('hello checks the world size and duplicate ranks; a lifeline closed without bye marks the rank lost', async () => {
    const s = await start(2);
    const r0 = await client(s);
    const r1 = await client(s);
    await r0.hello(0, 2);
    await expect((await client(s)).hello(1, 3)).rejects.toThrow(/world size mismatch: rank 1 was started with world size 3, the master \(rank 0\) with 2/);
    await expect((await client(s)).hello(0, 2)).rejects.toThrow(/rank 0 arrived twice/);
    await expect((await client(s)).hello(5, 2)).rejects.toThrow(/out of range/);
    await r1.hello(1, 2);
    const lost = new Promise<number>((r) => {
      const f = (rank: number): void => {
        s.off('lost', f);
        r(rank);
      };
      s.on('lost', f);
    });
    (r1 as unknown as { socket: { destroy(): void } }).socket.destroy();
    expect(await lost).toBe(1);
    expect(Buffer.from(await r0.get(LOST_KEY)).toString('utf8')).toBe('1');
  });

  it('a port in use and an unreachable master are clear errors, within the timeout', async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    const port = (busy.address() as { port: number }).port;
    await expect(new StoreServer({ host: '127.0.0.1', port }).listen()).rejects.toThrow(/master port 127.0.0.1:\d+ is in use/);
    await new Promise((r) => busy.close(r));
    const t0 = Date.now();
    await expect(StoreClient.connect({ host: '127.0.0.1', port, connectTimeoutMs: 500 })).rejects.toThrow(/unreachable for 0.5 s/);
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it('the client rejects pending requests when the server goes away', async () => {
    const s = await start();
    const a = await client(s);
    const p = a.get('never', 10_000);
    await s.close();
    servers.length = 0;
    await expect(p).rejects.toThrow(/closed|failed/);
  });
});
