// Default initial scales shared by the model families (the rule of bench/scripts/init-study.mjs,
// measured against PyTorch's defaults in bench/results/init-study.json):
//
//   embedding (V, E), tied to the output or not:  Normal(0, s^2), s = min(1, 16 / sqrt(V))
//       small vocabularies (V <= 256: characters, bytes; every row is updated at almost every
//       step) get PyTorch's unit scale, so the first layer sees inputs of order one; large word
//       vocabularies (most rows rare, each moved by ~lr per update) start small, where a rare
//       word's vector is not noise: V = 14k (Brown, min count 4) gives s = 0.135.
//       Tied to the output, the same s: a cap of 1/sqrt(H) (logits of order one at the start)
//       lost 11% on characters (tied 2 x 128 LSTM, fortunes, 500 steps: 3.445 vs 3.108 bits/char
//       at s = 1), and on words 16/sqrt(V) is below 1/sqrt(H) for the usual widths anyway.
//       (TransformerLM, MaskedLM, MambaLM keep GPT-2's N(0, 0.02): a norm precedes their tied head.)
//   weight matrices (G, in) and biases: U(+-1/sqrt(fan_in)) (PyTorch's nn.Linear / nn.RNN / nn.LSTM).
import { Tensor } from '../tensor.js';

/** Std of an embedding table's Normal init for a vocabulary of `vocabSize` (tied or not). */
export function embeddingInitStd(vocabSize: number): number {
  return Math.min(1, 16 / Math.sqrt(Math.max(1, vocabSize)));
}


/** A new tensor ~ Normal(0, std^2), seeded. */
export function normalInit(shape: number[], std: number, seed: number): Tensor {
  return Tensor.randn(shape, { std, seed });
}

/** Overwrites `t` with Normal(0, std^2) samples (seeded). */
export function fillNormal(t: Tensor, std: number, seed: number): void {
  const r = Tensor.randn(t.shape, { std, seed });
  try {
    t.storage.write(r.toArray() as Float32Array);
  } finally {
    r.dispose();
  }
}
