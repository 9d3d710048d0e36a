// lmkit: train and run neural language models from TypeScript.
export { Tensor, tidy, keep, memory, emptyCache, makeRng, shapeSize, formatShape } from './tensor.js';
export { getDefaultDevice, setDefaultDevice, deviceOf } from './tensor.js';
export type { DType, Device, Shape, NestedArray } from './tensor.js';
export { backward, backwardMany, noGrad, isGradEnabled, needsGrad, record, zeroGrad } from './autograd.js';
export { withGradReadyHook } from './tensor.js';
export type { BackwardFn, GradNode } from './tensor.js';
export type { GradTensor, GradStorage, AnyBackwardFn, AnyGradNode } from './autograd.js';
export { native, nativeLoadInfo } from './native/index.js';
export type { CudaInfo, NativeAddon, NativeBackend, NativeLoadInfo, NativeStorage } from './native/index.js';
export * from './ops/index.js';

import { native } from './native/index.js';

/** Threads used by the native kernels. */
export function numThreads(): number {
  return native.numThreads();
}

/** Sets the native thread count (0 restores LMKIT_NUM_THREADS or the number of cores). */
export function setNumThreads(n: number): void {
  native.setNumThreads(n);
}

// Building blocks, models, training.
export { Module, uniformInit } from './nn/module.js';
export { Linear, Embedding } from './nn/layers.js';
export { adaptiveLogProbs, adaptiveNll, checkCutoffs } from './nn/adaptive-softmax.js';
export type { AdaptiveSoftmaxParts } from './nn/adaptive-softmax.js';
export type { LinearOptions, EmbeddingOptions } from './nn/layers.js';
export * from './nn/transformer.js';
export { FeedForwardLM } from './models/ffnn.js';
export type { FeedForwardConfig } from './models/ffnn.js';
export * from './models/transformer.js';
export * from './models/rnn.js';
export { evaluateWithCache } from './models/cache.js';
export type { CacheEvalResult, CacheGrid, CacheScore } from './models/cache.js';
export { evaluateDynamic } from './models/dynamic-eval.js';
export type { DynamicEvalGrid, DynamicEvalResult, DynamicScore } from './models/dynamic-eval.js';
export * from './models/ngram.js';
export * from './models/interpolate.js';
export { Optimizer, SGD, AdamW, Adam } from './optim/optimizer.js';
export { Adafactor } from './optim/adafactor.js';
export type { AdafactorOptions } from './optim/adafactor.js';
export { SophiaG } from './optim/sophia.js';
export type { SophiaOptions } from './optim/sophia.js';
export { NTASGD } from './optim/asgd.js';
export type { NTASGDOptions } from './optim/asgd.js';
export type { SGDOptions, AdamWOptions, OptimizerState } from './optim/optimizer.js';
export { clipGradNorm } from './optim/clip.js';
export * as schedules from './optim/schedule.js';
export type { Schedule } from './optim/schedule.js';
export { Trainer, evaluateLoss } from './train/trainer.js';
export { runTraining, evaluateModel, MODEL_KINDS } from './train/run.js';
export { MODEL_DEFAULTS, type Defaults as ModelDefaults } from './train/model-defaults.js';
export type { TrainPlan } from './train/run.js';
export type { RunHistoryJSON } from './train/history.js';
export type { ConfigValue } from './train/effective-config.js';
export type { CorpusSpec, InMemoryCorpus } from './data/training-corpus.js';
export { trainTagger, type TagRunOptions, type TagRunResult, type TagRunEvents } from './train/tagging.js';
export type { ModelKind, OptimizerKind, ScheduleKind, TrainRunOptions, TrainRunEvents, TrainRunResult } from './train/run.js';
export type { TrainRunInput } from './train/run-state.js';
export type { TrainerOptions, GradientReducer } from './train/trainer.js';
// Data-parallel training (docs/distributed.md): one rank of a job, its launcher, its parts.
export { trainDistributed, type DistributedRunOptions, type DistributedRunResult } from './train/distributed.js';
export { launch, INTERRUPTED_EXIT, type LaunchOptions } from './dist/launch.js';
export { NcclGroup, ncclModule, pytorchNcclDirs } from './dist/nccl.js';
export { worldFromEnv, type WorldInfo, type EnvLike } from './dist/env.js';
export { ProcessGroup, type ProcessGroupOptions } from './dist/group.js';
export { DataParallel, type DataParallelOptions, type DataParallelRunOptions, type RankEvalResult, type ReduceGradients } from './dist/ddp.js';
export { StoreServer, StoreClient, StoreTimeoutError, type StoreServerOptions, type StoreClientOptions, type StoreServerEvent } from './dist/store.js';
export { glooModule, glooLoadInfo, type GlooModule, type NativeGlooGroup, type NativeNcclComm, type NcclInfo } from './dist/gloo.js';
// Checkpoints written by runTraining({ out }) (`lmkit train --out`), loaded back with their vocabulary.
export { loadTrained, loadAnyTrained, CHECKPOINT_KINDS } from './train/checkpointing.js';
export type { LoadedTrained, LoadedNgram, NgramTrainedMeta, NgramCheckpointMeta, TrainedMeta } from './train/checkpointing.js';
export type { NeuralKind, NeuralModel, ModelConfig, JobConfig } from './train/run.js';
export type { RecurrentRegularization } from './train/family.js';
// Model families: one descriptor per family (lib/train/families/), the registry that maps names to
// them, and the shared training jobs per kind of batch (docs/adding-a-model-family.md).
export { FAMILIES, familyOf, families, isModelKind, registerFamily } from './train/registry.js';
export type { AnyFamily, AnyNeuralFamily, RegisteredFamily, RegisteredNeuralFamily, ModelOf, ConfigOf } from './train/registry.js';
export type {
  AnyBatch,
  BatchKind,
  CountsFamily,
  CountsPart,
  Evaluator,
  FamilyFlag,
  FamilyGenerateOptions,
  FineTune,
  Job,
  ModelFamily,
  NeuralFamily,
  NeuralPart,
  PretrainedFormat,
  ShapeOption,
} from './train/family.js';
export { exampleTokens, maskedEvaluator, maskedJob, sequenceEvaluator, sequenceJob, streamEvaluator, streamJob, windowEvaluator, windowJob } from './train/jobs.js';
export type { SequenceLM, WindowLM } from './train/jobs.js';
export type { TokenSource } from './data/tokensource.js';
export type { LossContext, LossResult, StepEvent, EvalResult, FitOptions, FitResult, StepResult, TrainerState } from './train/trainer.js';

// Data.
export { loadBrown, loadBrownTagged, splitBrown, brownDirectory } from './data/brown.js';
export type { TaggedToken, BrownSplit } from './data/brown.js';
export { Vocab, UNK } from './data/vocab.js';
export type { VocabJSON } from './data/vocab.js';
export { contextWindows } from './data/loaders.js';
export type { WindowBatch } from './data/loaders.js';
export * from './data/windows.js';
export * from './data/bptt.js';
export { shardRows, type DataShard } from './data/shard.js';

// Checkpoints.
export * from './io/safetensors.js';
export * from './io/checkpoint.js';
export * from './io/hf-gpt2.js';
export * from './models/loglinear.js';
export * from './models/mlm.js';
export * from './models/mamba.js';
export * from './models/birnn.js';
export * from './data/pos.js';
export * from './data/masking.js';
export * from './data/tokenizers.js';
export * from './data/corpus.js';

// Generation and embeddings.
export { generate, generateAll, isGenerative, makeDecoder, TransformerKVCache, MAMBA_WINDOW } from './generate/generate.js';
export { unknownPromptWarning } from './generate/prompt.js';
export { BatchGenerator, type BatchToken } from './generate/batch.js';
export { generateNgram, type NgramGenerateOptions } from './generate/ngram.js';
export type { GenerativeModel, GenerateOptions, Decoder } from './generate/generate.js';
export {
  checkSamplingOptions,
  argmax as argmaxLogits,
  topKIndices,
  samplingDistribution,
  sampleToken,
} from './generate/sampling.js';
export type { SamplingOptions } from './generate/sampling.js';
export * from './embeddings.js';

// Training off the main thread.
export { trainInWorker } from './train/worker.js';
export type { AbortSignalLike, WorkerTrainOptions } from './train/worker.js';
