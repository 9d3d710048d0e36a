#!/usr/bin/env node
// The `lmkit` command line: a thin layer over the library.
import { Command, InvalidArgumentError, Option } from 'commander';
import { readFileSync } from 'node:fs';

import { registerBench } from './bench.js';
import { runEmbed, runEval, runGenerate, type EmbedFlags, type EvalFlags, type GenerateFlags } from './checkpoint-commands.js';
import { runBuild, type BuildFlags } from './build.js';
import { PRETRAINED_FORMATS, runExport, runImport, type ExportFlags, type ImportFlags } from './hf.js';
import { runInfo } from './info.js';
import { runTag, type TagFlags } from './tag.js';
import { runTokenize, type TokenizeFlags } from './tokenize.js';
import { TOKENIZER_KINDS } from '../data/build-tokenizer.js';
import { OPTIMIZER_KINDS, SCHEDULE_KINDS } from '../train/options.js';
import { MODEL_KINDS, familiesUsing, familiesWithContext, familyFlags } from '../train/registry.js';
import { modelDefaultsTable } from '../train/model-flags.js';
import { runTrain, type TrainFlags } from './train.js';
import { addDistFlags } from './dist-flags.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

function int(name: string, min = 0) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}`);
    return n;
  };
}
/** A comma-separated list of numbers >= min (and < below, when given). */
function intList(name: string) {
  return (v: string): number[] => {
    const xs = v.split(',').map((x) => Number(x.trim()));
    if (v.trim() === '' || xs.some((n) => !Number.isSafeInteger(n) || n < 1) || xs.some((n, i) => i > 0 && n <= xs[i - 1]!)) {
      throw new InvalidArgumentError(`${name} must be a comma-separated list of increasing positive integers`);
    }
    return xs;
  };
}
function numList(name: string, min: number, below?: number, upToIncluded = false) {
  return (v: string): number[] => {
    const xs = v.split(',').map((x) => Number(x.trim()));
    const over = (n: number): boolean => below !== undefined && (upToIncluded ? n > below : n >= below);
    const bad = xs.find((n) => !Number.isFinite(n) || n < min || over(n));
    if (bad !== undefined || xs.length === 0 || v.trim() === '') {
      const top = below === undefined ? '' : ` and ${upToIncluded ? '<=' : '<'} ${below}`;
      throw new InvalidArgumentError(`${name} must be a comma-separated list of numbers >= ${min}${top}`);
    }
    return xs;
  };
}
function num(name: string, min = Number.NEGATIVE_INFINITY) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min) throw new InvalidArgumentError(`${name} must be a number >= ${min}`);
    return n;
  };
}

/** Each family's own `lmkit train` flags (its descriptor's `flags`: ffnn's --direct, loglinear's --buckets). */
function addFamilyFlags(cmd: Command): Command {
  for (const { family, flag } of familyFlags()) {
    const description = `${family}: ${flag.description}`;
    if (typeof flag.default === 'boolean') cmd.option(flag.flags, description, flag.default);
    else cmd.option(flag.flags, description, int(flag.flags.split(' ')[0]!, flag.min ?? 0));
  }
  return cmd;
}

const program = new Command()
  .name('lmkit')
  .description('Train and run neural language models')
  .version(pkg.version)
  .option('--verbose', 'print stack traces on errors');

program
  .command('info')
  .description('version, native backend, SGEMM implementation and threads')
  .option('--json', 'one JSON object on stdout')
  .action((o: { json?: boolean }) => runInfo(pkg.version, o));

const train = addDistFlags(program
  .command('train'))
  .description('train a language model on a corpus and report validation/test perplexity')
  .addOption(new Option('--model <name>', 'model family').choices([...MODEL_KINDS]).default('ffnn'))
  .option('--corpus <path>', "'brown', a UTF-8 text FILE or DIR of *.txt (split 90/5/5), or a token file from `lmkit tokenize`", 'brown')
  .addOption(new Option('--tokenizer <kind>', 'text corpora: tokenizer built on the training split (default word)').choices([...TOKENIZER_KINDS]))
  .option('--bpe-vocab <n>', '--tokenizer bpe: vocabulary size', int('--bpe-vocab', 256))
  .option('--epochs <n>', 'passes over the training split', int('--epochs', 1))
  .option('--steps <n>', 'stop after this many steps', int('--steps', 1))
  .option('--batch <n>', 'batch size (examples, streams or windows)', int('--batch', 1))
  .option(
    '--context <n>',
    `previous tokens seen (${familiesWithContext('previous').join(', ')}) or sequence length (${familiesWithContext('sequence').join(', ')})`,
    int('--context', 1),
  )
  .option('--embed <n>', 'embedding size', int('--embed', 1))
  .option('--hidden <n>', 'hidden size (ffnn: 0 = no hidden layer)', int('--hidden', 0))
  .option('--layers <n>', `layers (${familiesUsing('layers').join(', ')})`, int('--layers', 1))
  .option('--heads <n>', `attention heads (${familiesUsing('heads').join(', ')})`, int('--heads', 1));
addFamilyFlags(train)
  .option('--dropout <p>', 'dropout probability', num('--dropout', 0))
  .option('--init-range <x>', `initial weights U(+-x) instead of the default rule (${familiesUsing('initRange').join(', ')}; README: Initialisation)`, num('--init-range', 0))
  .addOption(new Option('--optimizer <name>', 'optimizer').choices([...OPTIMIZER_KINDS]).default('adamw'))
  .option('--eval-tokens <n>', 'evaluate on at most this many tokens per split (quick runs)', int('--eval-tokens', 1))
  .option('--lr <x>', 'learning rate', num('--lr', 0))
  .addOption(new Option('--schedule <name>', 'learning-rate schedule over the run').choices([...SCHEDULE_KINDS]).default('constant'))
  .option('--warmup <n>', 'linear learning-rate warm-up steps', int('--warmup', 0))
  .option('--weight-decay <x>', 'weight decay (not applied to biases and gains)', num('--weight-decay', 0))
  .option('--clip <x>', 'clip the global gradient norm', num('--clip', 0))
  .option('--min-count <n>', 'vocabulary (word, char tokenizers): keep tokens seen at least this often in train', int('--min-count', 1), 4)
  .option('--seed <n>', 'random seed', int('--seed', 0), 1)
  .option('--threads <n>', 'native threads (default: LMKIT_NUM_THREADS or all cores)', int('--threads', 1))
  .addOption(new Option('--device <name>', 'where to train (cuda: the CUDA backend, see docs/cuda.md)').choices(['cpu', 'cuda']).default('cpu'))
  .option('--no-test', 'skip the test-set evaluation at the end')
  .option('--json', 'JSON lines on stdout (one object per event: step, eval, done)')
  .option('--log-every <n>', '--json: a step event every N steps (and the last)', int('--log-every', 1), 50)
  .option('--log-seconds <s>', 'output not on a terminal: a progress line every S seconds', num('--log-seconds', 0.1), 15)
  .option('--out <dir>', 'save the trained model (weights, config, vocabulary) as a checkpoint in this directory')
  .option('--save-every <n>', 'also save a resumable checkpoint to --out every N steps', int('--save-every', 1))
  .option('--resume <dir>', 'continue the run saved in DIR (its flags come from the checkpoint; --steps/--epochs: the new total)')
  .option('--init <dir>', "fine-tune the transformer saved in DIR (lmkit train --out or lmkit import) with its own tokenizer")
  .option('--accumulate <n>', 'average the gradients of N batches into each optimizer step', int('--accumulate', 1))
  .option('--eval-every <n>', 'evaluate on the validation split every N steps (default: every epoch)', int('--eval-every', 1))
  .option('--patience <n>', 'early stopping: stop after N evaluations without a better validation perplexity', int('--patience', 1))
  .option('--restore-best', 'with --patience: end with the weights of the best evaluation')
  .option('--skip-nonfinite', 'skip steps whose loss is NaN/Inf instead of stopping')
  .option('--momentum <x>', '--optimizer sgd: momentum (default 0.9)', num('--momentum', 0))
  .option('--ntasgd <n>', 'NT-ASGD: average the weights once validation has not improved for N evaluations (evaluations and checkpoints use the average)', int('--ntasgd', 1))
  .option('--weight-drop <p>', 'rnn, lstm: DropConnect on the hidden-to-hidden weights', num('--weight-drop', 0))
  .option('--dropout-input <p>', 'rnn, lstm: locked (variational) dropout of the embeddings', num('--dropout-input', 0))
  .option('--dropout-hidden <p>', 'rnn, lstm: locked dropout between layers', num('--dropout-hidden', 0))
  .option('--dropout-output <p>', 'rnn, lstm: locked dropout of the last layer output', num('--dropout-output', 0))
  .option('--embedding-dropout <p>', 'rnn, lstm: drop whole words of the embedding matrix', num('--embedding-dropout', 0))
  .option('--last-hidden <n>', 'rnn, lstm: width of the last layer (tied to the embeddings when equal to --embed)', int('--last-hidden', 1))
  .option('--adaptive-softmax <cutoffs>', 'rnn, lstm: an adaptive softmax output cut at these word ids (e.g. 2000,6000: a head of the 2000 most frequent words, then clusters); faster for large vocabularies', intList('--adaptive-softmax'))
  .option('--ar <x>', 'rnn, lstm: activation regularisation (alpha * mean squared output)', num('--ar', 0))
  .option('--tar <x>', 'rnn, lstm: temporal activation regularisation (beta * mean squared h_t - h_{t-1})', num('--tar', 0))
  .option('--bptt-jitter', 'rnn, lstm: random BPTT lengths around --context (lr scaled by length / context)')
  .addHelpText('after', () => `\n${modelDefaultsTable()}\nCtrl-C stops after the current step; with --out it saves a resumable checkpoint first.`)
  .action(async (o: TrainFlags, cmd: Command) => runTrain(o, Object.keys(o).filter((k) => cmd.getOptionValueSource(k) === 'cli')));

program
  .command('eval')
  .description("perplexity of a saved model on a corpus split, with the checkpoint's own tokenizer")
  .requiredOption('--checkpoint <dir>', 'checkpoint directory written by `lmkit train --out`')
  .option('--corpus <path>', "'brown', a text FILE or DIR, or a token file (default: the corpus the model was trained on)")
  .addOption(new Option('--split <name>', 'split to evaluate').choices(['valid', 'test']).default('valid'))
  .option('--eval-tokens <n>', 'evaluate on at most this many tokens', int('--eval-tokens', 1))
  .option('--cache <n>', 'rnn, lstm: mix in a neural cache of the last N positions per stream (Grave et al. 2017)', int('--cache', 1))
  .option('--cache-theta <list>', 'with --cache: the similarity scale(s); several are tuned on the valid split (default 0.05,0.1,0.2,0.3,0.5,0.7,1,1.5,2,3,4,5,7,10)', numList('--cache-theta', 0))
  .option('--cache-lambda <list>', 'with --cache: the cache weight(s) in [0, 1); several are tuned on the valid split (default 0.05,0.1,0.15,0.2,0.25,0.3)', numList('--cache-lambda', 0, 1))
  .option('--dynamic-lr <list>', 'rnn, lstm: dynamic evaluation (Krause et al. 2018): after each window is scored, one SGD step of this size on it; several are tuned on the valid split', numList('--dynamic-lr', 0))
  .option('--dynamic-decay <list>', 'with --dynamic-lr: pull toward the trained weights after each step, in [0, 1]; several are tuned on the valid split (default 0)', numList('--dynamic-decay', 0, 1, true))
  .option('--dynamic-window <n>', 'with --dynamic-lr: tokens per stream between updates (default 20)', int('--dynamic-window', 1))
  .option('--streams <n>', 'with --cache or --dynamic-lr: read the split as N parallel streams (default 10, as a plain eval; 1: in order, one update per window of the one stream)', int('--streams', 1))
  .option('--tune-tokens <n>', 'with --cache or --dynamic-lr: tune on the first N tokens of the valid split (default: all of it, within --eval-tokens)', int('--tune-tokens', 1))
  .option('--threads <n>', 'native threads', int('--threads', 1))
  .option('--json', 'one JSON object on stdout')
  .action((o: EvalFlags) => runEval(o));

program
  .command('tokenize')
  .description('tokenize a text FILE or DIR into a binary token file for `lmkit train --corpus FILE.bin`')
  .requiredOption('--corpus <path>', 'UTF-8 text FILE or DIR of *.txt (read in chunks)')
  .requiredOption('--out <file>', 'the token file to write (replaced atomically)')
  .addOption(new Option('--tokenizer <kind>', 'tokenizer').choices([...TOKENIZER_KINDS]).default('word'))
  .option('--bpe-vocab <n>', '--tokenizer bpe: vocabulary size', int('--bpe-vocab', 256), 1024)
  .option('--min-count <n>', 'word, char: keep tokens seen at least this often in the sample', int('--min-count', 1), 4)
  .option('--sample-mb <n>', 'build the tokenizer on the first N MB of text (capped at the first 90%, the training range)', int('--sample-mb', 1), 64)
  .option('--chunk-mb <n>', 'text read per chunk', int('--chunk-mb', 1), 8)
  .action((o: TokenizeFlags) => runTokenize(o));

program
  .command('generate')
  .description('sample words from a saved model after a prompt')
  .requiredOption('--checkpoint <dir>', 'checkpoint directory written by `lmkit train --out`')
  .requiredOption('--prompt <text>', "prompt text, encoded with the checkpoint's tokenizer (Brown models: words split on whitespace; unknown words become <unk>)")
  .option('--max-tokens <n>', 'words to generate', int('--max-tokens', 0), 20)
  .option('--temperature <x>', 'sampling temperature (0 = greedy)', num('--temperature', 0))
  .option('--top-k <n>', 'keep only the k most likely words (0 = all)', int('--top-k', 0))
  .option('--top-p <x>', 'nucleus sampling threshold in (0, 1]', num('--top-p', 0))
  .option('--seed <n>', 'sampling seed', int('--seed', 0), 1)
  .option('--threads <n>', 'native threads', int('--threads', 1))
  .action(async (o: GenerateFlags) => runGenerate(o));

program
  .command('embed')
  .description("query a saved model's word embeddings: nearest neighbours or analogies")
  .requiredOption('--checkpoint <dir>', 'checkpoint directory written by `lmkit train --out`')
  .option('--neighbors <word>', 'the k words closest to WORD by cosine similarity')
  .option('--analogy <words...>', 'A B C: the k words closest to B - A + C')
  .option('--k <n>', 'how many words', int('--k', 1), 10)
  .option('--threads <n>', 'native threads', int('--threads', 1))
  .option('--json', 'one JSON object on stdout')
  .action((o: EmbedFlags) => runEmbed(o));

program
  .command('build')
  .description('rebuild the native addon from the shipped sources with cmake-js (needs cmake and a C++17 compiler)')
  .option('--cuda', 'build the CUDA backend (errors when this version has none)')
  .option('--parallel <n>', 'parallel compile jobs', int('--parallel', 1))
  .option('--dry-run', 'print the cmake-js command and the output file, build nothing')
  .addHelpText(
    'after',
    '\nThe addon goes to <package>/build/Release/lmkit.node (--cuda: build-cuda/Release/lmkit_cuda.node, needs nvcc),\n' +
      'which lmkit loads ahead of prebuilds/.\n' +
      'cmake-js is a devDependency of lmkit: in an installed package, first run `npm install --no-save cmake-js@^8`.',
  )
  .action((o: BuildFlags) => runBuild(o));

program
  .command('tag')
  .description('part-of-speech tagging of the Brown corpus with a bidirectional RNN/LSTM; reports tag accuracy')
  .addOption(new Option('--cell <name>', 'recurrent cell').choices(['rnn', 'lstm']).default('lstm'))
  .option('--epochs <n>', 'passes over the training sentences', int('--epochs', 1))
  .option('--steps <n>', 'stop after this many steps', int('--steps', 1))
  .option('--batch <n>', 'sentences per batch', int('--batch', 1))
  .option('--embed <n>', 'embedding size', int('--embed', 1))
  .option('--hidden <n>', 'hidden size per direction', int('--hidden', 1))
  .option('--dropout <p>', 'dropout probability', num('--dropout', 0))
  .option('--lr <x>', 'learning rate', num('--lr', 0))
  .option('--min-count <n>', 'rarer training words become unknown-word classes', int('--min-count', 1))
  .option('--seed <n>', 'random seed', int('--seed', 0), 1)
  .option('--threads <n>', 'native threads', int('--threads', 1))
  .option('--json', 'JSON lines on stdout')
  .action((o: TagFlags) => runTag(o));

program
  .command('import')
  .description('convert a pretrained model directory (Hugging Face GPT-2) into an lmkit checkpoint')
  .argument('<dir>', 'the model directory (config.json, model.safetensors; vocab.json + merges.txt optional)')
  .addOption(new Option('--from <format>', 'format of DIR').choices([...PRETRAINED_FORMATS]).makeOptionMandatory())
  .requiredOption('--out <dir>', 'the checkpoint to write (only once the whole import succeeded)')
  .option('--dropout <p>', "dropout of later fine-tuning (default: config.json's resid_pdrop)", num('--dropout', 0))
  .option('--threads <n>', 'native threads', int('--threads', 1))
  .action((dir: string, o: ImportFlags) => runImport(dir, o));

program
  .command('export')
  .description('write a transformer checkpoint as a pretrained model directory (Hugging Face GPT-2)')
  .argument('<checkpoint>', 'checkpoint directory written by `lmkit train --out` or `lmkit import`')
  .argument('<dir>', 'the directory to write (config.json, model.safetensors, and vocab.json + merges.txt for an imported tokenizer)')
  .addOption(new Option('--to <format>', 'format to write').choices([...PRETRAINED_FORMATS]).makeOptionMandatory())
  .option('--threads <n>', 'native threads', int('--threads', 1))
  .action((ck: string, dir: string, o: ExportFlags) => runExport(ck, dir, o));

registerBench(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  const verbose = process.argv.includes('--verbose');
  const msg = err instanceof Error ? (verbose ? (err.stack ?? err.message) : err.message) : String(err);
  process.stderr.write(`lmkit: ${msg}\n`);
  process.exit(1);
});
