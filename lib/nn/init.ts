// Default initial scales shared by the model families (the rule of bench/scripts/init-study.mjs,
// measured against PyTorch's defaults in bench/results/init-study.json):
//
//   embedding (V, E), tied to the output or not:  Normal(0, s^2), s = min(1, c / sqrt(V)),
//       c = 48 for the recurrent LMs (rnn, lstm), c = 16 for the feed-forward LM.
//       Small vocabularies (characters, bytes; every row is updated at almost every step) get
//       PyTorch's unit scale, so the first layer sees inputs of order one; large word
//       vocabularies (most rows rare, each moved by ~lr per update) start smaller. On Brown words
//       (V = 14,114; s = 0.40 recurrent, 0.135 feed-forward) the two families want different
//       scales: at 500 steps the Elman RNN scored ppl 489 / 468 / 479 at s = 0.135 / 0.4 / 1,
//       the feed-forward LM 418 at s = 0.135 and 491 at s = 1 (424 with the old U(+-0.1)).
//       Tied to the output, the same s: a cap of 1/sqrt(H) (logits of order one at the start)
//       lost 11% on characters (tied 2 x 128 LSTM, fortunes, 500 steps: 3.445 vs 3.108 bits/char
//       at s = 1), and on words 16/sqrt(V) is below 1/sqrt(H) for the usual widths anyway.
//       (TransformerLM, MaskedLM, MambaLM keep GPT-2's N(0, 0.02): a norm precedes their tied head.)
//   weight matrices (G, in) and biases: U(+-1/sqrt(fan_in)) (PyTorch's nn.Linear / nn.RNN / nn.LSTM).
//       A recurrent layer has one bias; PyTorch's two (b_ih + b_hh, a sum of two such uniforms)
//       measured no different: fortunes-char 2 x 128 LSTM, 500 steps, seeds 1-3: 3.379 bits/char
//       mean with one bias, 3.379 with two (scheme new+2b), real PyTorch 3.355 (3.328-3.398).
//   On character vocabularies (V <= 256) the rule is therefore PyTorch's default distribution;
//   on Brown words it beat PyTorch's default for every family at 500 steps and after one epoch.
import { Tensor } from '../tensor.js';

/** The constant c of the embedding rule s = min(1, c / sqrt(V)), by model family. */
export const EMBEDDING_INIT_SCALE = { recurrent: 48, feedForward: 16 } as const;

/** Std of an embedding table's Normal init for a vocabulary of `vocabSize` (tied or not). */
export function embeddingInitStd(vocabSize: number, family: keyof typeof EMBEDDING_INIT_SCALE): number {
  return Math.min(1, EMBEDDING_INIT_SCALE[family] / Math.sqrt(Math.max(1, vocabSize)));
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
