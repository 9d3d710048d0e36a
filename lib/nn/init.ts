// Default initial scales shared by the model families (the rule of bench/scripts/init-study.mjs,
// measured against PyTorch's defaults in bench/results/init-study.json):
//
//   untied embedding (V, E):  Normal(0, s^2), s = min(1, 8 / sqrt(V))
//       small vocabularies (characters, bytes: every row is updated at almost every step) get
//       PyTorch's unit scale, so the first layer sees inputs of order one; large word
//       vocabularies (most rows rare, each moved by ~lr per update) start near zero, where
//       a rare word's vector is not noise: V = 16k gives s = 0.063, the std of U(+-0.1).
//   embedding tied to the output (V, H): s = min(8 / sqrt(V), 1 / sqrt(H))
//       it is also the output projection: logits of order one at the start, as an untied
//       U(+-1/sqrt(H)) output layer gives.
//   weight matrices (G, in) and biases: U(+-1/sqrt(fan_in)) (PyTorch's nn.Linear / nn.RNN / nn.LSTM).
import { Tensor } from '../tensor.js';

/** Std of an untied embedding table's Normal init for a vocabulary of `vocabSize`. */
export function embeddingInitStd(vocabSize: number): number {
  return Math.min(1, 8 / Math.sqrt(Math.max(1, vocabSize)));
}

/** Std of an embedding table that is also the output projection of `hidden`-wide states. */
export function tiedEmbeddingInitStd(vocabSize: number, hidden: number): number {
  return Math.min(embeddingInitStd(vocabSize), 1 / Math.sqrt(Math.max(1, hidden)));
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
