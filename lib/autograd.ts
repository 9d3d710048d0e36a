// Reverse-mode automatic differentiation.
//
// Each op that has an input needing a gradient records a GradNode: its inputs, its
// outputs and a backward function that maps the outputs' gradients to the inputs'
// gradients by calling the native backward kernels. `backward(loss)` walks the recorded
// graph from the loss in reverse topological order, accumulates gradients of leaf tensors
// (`requiresGrad`) into `.grad`, frees the intermediate gradients, and releases the graph.
//
// The engine does not import the tensor module: it works on any type with the members of
// `GradTensor` (lib/tensor.ts's Tensor is the one there is), so tensor.ts can import the engine
// for `Tensor.backward()` without an import circle. `record` and the rest infer the tensor
// type from their arguments; tensor.ts exports `GradNode` and `BackwardFn` over `Tensor`.
//
// `withGradReadyHook(hook, fn)` calls `hook(leaf)` during the backward passes that `fn` runs, as
// soon as a leaf's gradient is final (its last consumer on the tape has run: leaves' consumers
// are counted before the walk), e.g. to start a data-parallel all-reduce while backward goes on.

/** The storage operation the engine needs: in-place `this += other`. */
export interface GradStorage {
  addFrom(other: GradStorage): void;
}

/** What the engine needs of a tensor type `T` (lib/tensor.ts's Tensor has all of it). */
export interface GradTensor<T extends GradTensor<T>> {
  readonly shape: readonly number[];
  readonly size: number;
  readonly disposed: boolean;
  readonly storage: GradStorage;
  requiresGrad: boolean;
  grad: T | null;
  /** @internal The op that produced this tensor, and which of its outputs it is. */
  _node: AnyGradNode<T> | null;
  _outIndex: number;
  clone(): T;
  dispose(): void;
  describe(): string;
  /** A float32 tensor of zeros (or ones) of this shape, on this tensor's device. */
  zerosLike(): T;
  onesLike(): T;
  /** @internal Exempts this tensor from the enclosing tidy() scope; returns it. */
  _keep(): T;
}

export type AnyBackwardFn<T> = (gradOutputs: T[]) => (T | null | undefined)[];

export interface AnyGradNode<T> {
  readonly name: string;
  inputs: T[];
  outputs: T[];
  backward: AnyBackwardFn<T> | null;
}

function formatShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

let gradEnabled = true;
/** The hook of withGradReadyHook, or null. */
// Stored over `unknown`: a backward pass reports leaves of its own tensor type, the type the hook was given.
let gradReadyHook: ((leaf: unknown) => void) | null = null;

/**
 * Runs `fn`; during each backward pass it runs, `hook(leaf)` is called once per leaf
 * (`requiresGrad`) of the graph as soon as no op left on the tape contributes to its gradient
 * (its `.grad` then holds this pass's whole contribution). Leaves outside the graph are not
 * reported. Backward passes nested inside an op's backward do not report.
 */
export function withGradReadyHook<L, R>(hook: (leaf: L) => void, fn: () => R): R {
  const prev = gradReadyHook;
  gradReadyHook = hook as (leaf: unknown) => void;
  try {
    return fn();
  } finally {
    gradReadyHook = prev;
  }
}

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs `fn` without recording anything on the tape. */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Whether a gradient must flow to `t`: a leaf that requires it, or the output of a recorded op. */
export function needsGrad(t: { readonly requiresGrad: boolean; readonly _node: unknown }): boolean {
  return t.requiresGrad || t._node !== null;
}

/**
 * Records an op on the tape when grad mode is on and some input needs a gradient.
 * `backward` receives one gradient per output (zeros for outputs that got none) and
 * returns one fresh gradient tensor per input, or null where no gradient is needed.
 */
export function record<T extends GradTensor<T>>(name: string, inputs: T[], outputs: T[], backward: AnyBackwardFn<T>): void {
  if (!gradEnabled || !inputs.some(needsGrad)) return;
  const node: AnyGradNode<T> = { name, inputs, outputs, backward };
  outputs.forEach((o, i) => {
    o._node = node;
    o._outIndex = i;
  });
}

function topoOrder<T extends GradTensor<T>>(roots: T[]): AnyGradNode<T>[] {
  const order: AnyGradNode<T>[] = [];
  const seen = new Set<AnyGradNode<T>>();
  // Iterative post-order DFS over nodes.
  const stack: { node: AnyGradNode<T>; next: number }[] = [];
  for (const root of roots) {
    if (!root._node || seen.has(root._node)) continue;
    stack.push({ node: root._node, next: 0 });
    seen.add(root._node);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      if (top.next < top.node.inputs.length) {
        const inp = top.node.inputs[top.next++]!;
        const n = inp._node;
        if (n && !seen.has(n)) {
          seen.add(n);
          stack.push({ node: n, next: 0 });
        }
      } else {
        order.push(top.node);
        stack.pop();
      }
    }
  }
  return order.reverse(); // roots first
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * Back-propagates from `root`. A scalar root gets gradient 1; otherwise `grad` (same
 * shape as root) is required. Leaf gradients accumulate across calls until `zeroGrad`.
 */
export function backward<T extends GradTensor<T>>(root: T, grad?: T): void {
  backwardMany([root], grad === undefined ? undefined : [grad]);
}

/**
 * Back-propagates from several tensors at once (e.g. both outputs of an LSTM cell), each
 * with its gradient (scalars may omit theirs: 1). Shared parts of the graph run once.
 */
export function backwardMany<T extends GradTensor<T>>(roots: T[], grads?: (T | undefined)[]): void {
  if (roots.length === 0) return;
  if (grads !== undefined && grads.length !== roots.length) {
    throw new RangeError(`backward: ${roots.length} roots but ${grads.length} gradients`);
  }
  roots.forEach((root, i) => {
    const grad = grads?.[i];
    if (grad === undefined && root.size !== 1) {
      throw new RangeError(`backward: ${root.describe()} is not a scalar; pass a gradient of the same shape`);
    }
    if (grad !== undefined && !sameShape(grad.shape, root.shape)) {
      throw new RangeError(`backward: gradient shape ${formatShape(grad.shape)} differs from ${formatShape(root.shape)}`);
    }
    if (!needsGrad(root)) {
      throw new Error(
        `backward: ${root.describe()} does not require a gradient (no input had requiresGrad, or its graph was already used)`,
      );
    }
  });
  const prev = gradEnabled;
  gradEnabled = false;
  const hook = gradReadyHook;
  gradReadyHook = null;
  // With a hook: the consumers (node inputs) each leaf has left on the tape.
  const consumers = hook ? new Map<T, number>() : null;
  // Gradients of non-leaf tensors waiting for their node, keyed by tensor.
  const pending = new Map<T, T>();
  const accumulateLeaf = (leaf: T, g: T): void => {
    if (leaf.grad === null || leaf.grad.disposed) {
      leaf.grad = g._keep();
    } else {
      leaf.grad.storage.addFrom(g.storage);
      g.dispose();
    }
  };
  const add = (t: T, g: T): void => {
    if (t._node !== null) {
      const acc = pending.get(t);
      if (acc) {
        acc.storage.addFrom(g.storage);
        g.dispose();
      } else {
        pending.set(t, g);
      }
    } else if (t.requiresGrad) {
      accumulateLeaf(t, g);
    } else {
      g.dispose();
    }
  };
  try {
    roots.forEach((root, i) => {
      const grad = grads?.[i];
      add(root, grad === undefined ? root.onesLike() : grad.clone());
    });
    const order = topoOrder(roots);
    if (consumers) {
      for (const node of order) for (const inp of node.inputs) if (inp._node === null && inp.requiresGrad) consumers.set(inp, (consumers.get(inp) ?? 0) + 1);
      for (const root of roots) if (root._node === null && root.requiresGrad && !consumers.has(root)) hook!(root);
    }
    for (const node of order) {
      if (node.backward === null) {
        throw new Error(`backward: the graph through '${node.name}' was already used; call backward once per forward`);
      }
      const gradOutputs = node.outputs.map((o) => {
        const g = pending.get(o);
        pending.delete(o);
        return g ?? o.zerosLike();
      });
      const gradInputs = node.backward(gradOutputs);
      for (const g of gradOutputs) g.dispose();
      node.inputs.forEach((inp, i) => {
        const g = gradInputs[i];
        if (!g) return;
        if (!sameShape(g.shape, inp.shape)) {
          throw new Error(
            `backward: op '${node.name}' returned a gradient of shape ${formatShape(g.shape)} for an input of shape ${formatShape(inp.shape)}`,
          );
        }
        add(inp, g);
      });
      if (consumers) {
        for (const inp of node.inputs) {
          const left = consumers.get(inp);
          if (left === undefined) continue;
          if (left === 1) {
            consumers.delete(inp);
            hook!(inp);
          } else consumers.set(inp, left - 1);
        }
      }
      // Release the graph as we go: saved tensors become collectable.
      node.backward = null;
      node.inputs = [];
      for (const o of node.outputs) o._node = null;
      node.outputs = [];
    }
  } finally {
    for (const g of pending.values()) g.dispose();
    gradEnabled = prev;
    gradReadyHook = hook;
  }
}

/** Frees the accumulated gradients of `params`. */
export function zeroGrad<T extends GradTensor<T>>(params: Iterable<T>): void {
  for (const p of params) {
    if (p.grad) {
      p.grad.dispose();
      p.grad = null;
    }
  }
}
