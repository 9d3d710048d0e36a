// Progress of an evaluation pass: the batches of an evaluator, counted as they are consumed.
// (Evaluation is synchronous; the callback is how a progress display learns how far it is.)

/** Yields `batches` unchanged, calling `onProgress` with the tokens consumed so far after each one. */
export function* reporting<B>(batches: Iterable<B>, tokensOf: (b: B) => number, onProgress?: (tokensDone: number) => void): Generator<B> {
  let done = 0;
  for (const b of batches) {
    yield b;
    done += tokensOf(b);
    onProgress?.(done);
  }
}
