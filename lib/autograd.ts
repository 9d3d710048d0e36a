// Reverse-mode automatic differentiation.
//
// Each op that has an input needing a gradient records a GradNode: its inputs, its
// outputs and a backward function that maps the outputs' gradients to the inputs'
// gradients by calling the native backward kernels. `backward(loss)` walks the recorded
// graph from the loss in reverse topological order, accumulates gradients of leaf tensors
// (`requiresGrad`) into `.grad`, frees the intermediate gradients, and releases the graph.
import { Tensor, keep, formatShape } from './tensor.js';

export type BackwardFn = (gradOutputs: Tensor[]) => (Tensor | null | undefined)[];

export interface GradNode {
  readonly name: string;
  inputs: Tensor[];
  outputs: Tensor[];
  backward: BackwardFn | null;
}

let gradEnabled = true;

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
export function needsGrad(t: Tensor): boolean {
  return t.requiresGrad || t._node !== null;
}

/**
 * Records an op on the tape when grad mode is on and some input needs a gradient.
 * `backward` receives one gradient per output (zeros for outputs that got none) and
 * returns one fresh gradient tensor per input, or null where no gradient is needed.
 */
export function record(name: string, inputs: Tensor[], outputs: Tensor[], backward: BackwardFn): void {
  if (!gradEnabled || !inputs.some(needsGrad)) return;
  const node: GradNode = { name, inputs, outputs, backward };
  outputs.forEach((o, i) => {
    o._node = node;
    o._outIndex = i;
  });
}

function topoOrder(root: Tensor): GradNode[] {
  const order: GradNode[] = [];
  const seen = new Set<GradNode>();
  // Iterative post-order DFS over nodes.
  const stack: { node: GradNode; next: number }[] = [];
  if (root._node) {
    stack.push({ node: root._node, next: 0 });
    seen.add(root._node);
  }
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
  return order.reverse(); // root first
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * Back-propagates from `root`. A scalar root gets gradient 1; otherwise `grad` (same
 * shape as root) is required. Leaf gradients accumulate across calls until `zeroGrad`.
 */
export function backward(root: Tensor, grad?: Tensor): void {
  if (grad === undefined && root.size !== 1) {
    throw new RangeError(`backward: ${root.describe()} is not a scalar; pass a gradient of the same shape`);
  }
  if (grad !== undefined && !sameShape(grad.shape, root.shape)) {
    throw new RangeError(`backward: gradient shape ${formatShape(grad.shape)} differs from ${formatShape(root.shape)}`);
  }
  if (!needsGrad(root)) {
    throw new Error(`backward: ${root.describe()} does not require a gradient (no input had requiresGrad)`);
  }
  const prev = gradEnabled;
  gradEnabled = false;
  // Gradients of non-leaf tensors waiting for their node, keyed by tensor.
  const pending = new Map<Tensor, Tensor>();
  const accumulateLeaf = (leaf: Tensor, g: Tensor, owned: boolean): void => {
    if (leaf.grad === null || leaf.grad.disposed) {
      leaf.grad = keep(owned ? g : g.clone());
    } else {
      leaf.grad.storage.addFrom(g.storage);
      if (owned) g.dispose();
    }
  };
  try {
    const rootGrad = grad ?? Tensor.ones(root.shape);
    if (root._node === null) {
      accumulateLeaf(root, rootGrad, grad === undefined);
      return;
    }
    pending.set(root, grad === undefined ? rootGrad : rootGrad.clone());
    for (const node of topoOrder(root)) {
      if (node.backward === null) {
        throw new Error(`backward: the graph through '${node.name}' was already used; call backward once per forward`);
      }
      const gradOutputs = node.outputs.map((o) => {
        const g = pending.get(o);
        pending.delete(o);
        return g ?? Tensor.zeros(o.shape);
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
        if (inp._node !== null) {
          const acc = pending.get(inp);
          if (acc) {
            acc.storage.addFrom(g.storage);
            g.dispose();
          } else {
            pending.set(inp, g);
          }
        } else if (inp.requiresGrad) {
          accumulateLeaf(inp, g, true);
        } else {
          g.dispose();
        }
      });
      // Release the graph as we go: saved tensors become collectable.
      node.backward = null;
      node.inputs = [];
      for (const o of node.outputs) o._node = null;
      node.outputs = [];
    }
  } finally {
    for (const g of pending.values()) g.dispose();
    gradEnabled = prev;
  }
}

/** Frees the accumulated gradients of `params`. */
export function zeroGrad(params: Iterable<Tensor>): void {
  for (const p of params) {
    if (p.grad) {
      p.grad.dispose();
      p.grad = null;
    }
  }
}
