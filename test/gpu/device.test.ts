// CUDA backend: device storages, copies, memory accounting, errors (skipped without a GPU;
// see test/gpu/gpu.ts). Never run on a GPU yet.
import { expect, it } from 'vitest';

import { Tensor, add, deviceOf, memory, relu, sum, tidy } from '../../lib/index.js';
import { native, nativeLoadInfo } from '../../lib/native/index.js';
import { randomArray } from '../helpers.js';
import { describeGpu, gpu } from './gpu.js';

it('reports why the CUDA suite runs or is skipped', () => {
  expect(typeof gpu.reason).toBe('string');
  expect(gpu.reason.length).toBeGreaterThan(0);
  if (native.backend === 'cuda') expect(typeof native.deviceCount?.()).toBe('number');
});

// `npm run test:gpu` sets LMKIT_REQUIRE_GPU=1: there a suite that skips everything is a failure,
// not a green run.
it('has a usable GPU when LMKIT_REQUIRE_GPU=1', () => {
  if (process.env.LMKIT_REQUIRE_GPU === '1') expect(gpu.ok, `no usable GPU: ${gpu.reason}`).toBe(true);
});

describeGpu('cuda device', () => {
  it('loads the CUDA addon, with a device name and driver version', () => {
    expect(native.backend).toBe('cuda');
    expect(nativeLoadInfo.backend).toBe('cuda');
    const info = native.cudaInfo!();
    expect(info.deviceCount).toBeGreaterThan(0);
    expect(info.name).toBeTruthy();
    // The emulated addon (HIP-CPU) has no driver: it reports 0, and says it is emulated.
    if (native.emulation) expect(info.driverVersion).toBe(0);
    else expect(info.driverVersion).toBeGreaterThan(0);
    process.stdout.write(`[test/gpu] ${JSON.stringify(info)}\n`);
  });

  it('hands out device pointers and its stream for NCCL (devicePointer, cudaStream)', () => {
    const cs = native.cudaStream!();
    expect(typeof cs.stream).toBe('bigint');
    expect(cs.device).toBe(native.cudaInfo!().device ?? 0);
    tidy(() => {
      const d = Tensor.fromArray(new Float32Array([1, 2, 3]), [3]).to('cuda');
      const h = Tensor.fromArray(new Float32Array([1, 2, 3]), [3]);
      const p = d.storage.devicePointer!();
      expect(p).toBeGreaterThan(0n);
      expect(d.storage.devicePointer!()).toBe(p); // the same storage, the same address
      expect(() => h.storage.devicePointer!()).toThrow(/host memory/);
      const freed = Tensor.fromArray(new Float32Array([1]), [1]).to('cuda');
      freed.dispose();
      expect(() => freed.storage.devicePointer!()).toThrow(/disposed/);
    });
  });

  it('to(cuda) / to(cpu) round trip, for every size around the block edges', () => {
    for (const n of [0, 1, 17, 255, 256, 257, 100_003]) {
      tidy(() => {
        const a = randomArray(n, n + 1);
        const x = Tensor.fromArray(a, [n]);
        const d = x.to('cuda');
        expect(d.device).toBe('cuda');
        expect(d.toArray()).toEqual(a);
        const back = d.to('cpu');
        expect(back.device).toBe('cpu');
        expect(back.toArray()).toEqual(a);
        expect(d.clone().device).toBe('cuda');
        expect(d.clone().toArray()).toEqual(a);
      });
    }
    tidy(() => {
      const ids = Tensor.fromArray(new Int32Array([1, -2, 3, 2147483647]), [4], 'int32', 'cuda');
      expect(Array.from(ids.toArray())).toEqual([1, -2, 3, 2147483647]);
    });
  });

  it('fill, zeros, full, item on the device', () => {
    tidy(() => {
      expect(Array.from(Tensor.zeros([5], 'float32', 'cuda').toArray())).toEqual([0, 0, 0, 0, 0]);
      expect(Array.from(Tensor.full([3], 2.5, 'float32', 'cuda').toArray())).toEqual([2.5, 2.5, 2.5]);
      expect(Array.from(Tensor.full([2], -7, 'int32', 'cuda').toArray())).toEqual([-7, -7]);
      expect(Tensor.full([], 4, 'float32', 'cuda').item()).toBe(4);
    });
  });

  it('counts device bytes apart from host bytes, and frees them on dispose', () => {
    const before = memory();
    const t = Tensor.zeros([1000], 'float32', 'cuda');
    const during = memory();
    expect(during.deviceBytes! - (before.deviceBytes ?? 0)).toBe(4000);
    expect(during.bytes).toBe(before.bytes);
    t.dispose();
    expect(memory().deviceBytes).toBe(before.deviceBytes);
  });

  it('the gradient of to() flows back to the source device', () => {
    tidy(() => {
      const x = Tensor.fromArray([1, -2, 3], [3]).requireGrad();
      const y = relu(x.to('cuda'));
      sum(y).backward();
      expect(x.grad!.device).toBe('cpu');
      expect(Array.from(x.grad!.toArray())).toEqual([1, 0, 1]);
    });
  });

  it('refuses inputs on different devices, and ops without a CUDA kernel, with clear errors', () => {
    tidy(() => {
      const a = Tensor.ones([3]);
      const b = Tensor.ones([3], 'float32', 'cuda');
      expect(() => deviceOf('add', a, b)).toThrow(/different devices/);
      expect(() => add(a, b)).toThrow(/different devices/);
      // Below the ops, the binding itself refuses a mix (every op family has a CUDA kernel now;
      // a binding without one refuses device storages with "this op has no CUDA kernel yet").
      expect(() => native.relu_forward(Tensor.empty([3], 'float32', 'cuda').storage, a.storage, 3)).toThrow(
        /same device/,
      );
    });
  });

  it('out-of-range device ids are refused with a RangeError before any kernel runs', () => {
    // The binding checks a host copy of the ids, so the kernel never reads outside the table.
    tidy(() => {
      const table = Tensor.zeros([4, 3], 'float32', 'cuda');
      const ids = Tensor.fromArray(new Int32Array([0, 9]), [2], 'int32', 'cuda');
      expect(() => native.embedding_forward(Tensor.empty([2, 3], 'float32', 'cuda').storage, ids.storage, table.storage, 2, 4, 3)).toThrow(
        /out of range/,
      );
      native.cudaSynchronize!();
    });
  });
});
