// The addon's op families, each typed in its own file.
import type { MatmulNative } from './matmul.js';
import type { EmbeddingNative } from './embedding.js';
import type { LstmNative } from './lstm.js';
import type { AttentionNative } from './attention.js';
import type { CrossentropyNative } from './crossentropy.js';
import type { SoftmaxNative } from './softmax.js';
import type { ElementwiseNative } from './elementwise.js';
import type { ActivationsNative } from './activations.js';
import type { ReduceNative } from './reduce.js';
import type { ShapeNative } from './shape.js';
import type { NormNative } from './norm.js';
import type { DropoutNative } from './dropout.js';
import type { OptimNative } from './optim.js';

import type { ScanNative } from './scan.js';
import type { ConvNative } from './conv.js';

export type OpsNative = MatmulNative &
  EmbeddingNative &
  LstmNative &
  AttentionNative &
  CrossentropyNative &
  SoftmaxNative &
  ElementwiseNative &
  ActivationsNative &
  ReduceNative &
  ShapeNative &
  NormNative &
  DropoutNative &
  OptimNative &
  ScanNative &
  ConvNative;
