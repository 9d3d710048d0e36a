#!/bin/bash
# Tokens/s of candidate AWD-LSTM recipes on Brown (issue 19), after npm run build:ts, side by side in one window (the machine is shared: compare ratios).
cd "$(dirname "$0")/../.."
common="--eval-tokens 500 --no-test --json --log-every 1"
AWD="--bptt-jitter --optimizer sgd --momentum 0 --lr 30 --clip 0.25 --weight-drop 0.5 --dropout-input 0.4 --dropout-hidden 0.25 --dropout-output 0.4 --embedding-dropout 0.1 --ar 2 --tar 1 --ntasgd 5"
run() { name=$1; shift; echo "== $name: $*"; node dist/cli/index.js train "$@" $common 2>/dev/null | grep '"done"' ; uptime; }
run ref-lstm-1x512-plain --model lstm --embed 512 --hidden 512 --layers 1 --dropout 0.5 --lr 0.002 --schedule cosine --clip 1 --steps 20
run awd-2x650-400 --model lstm --embed 400 --hidden 650 --last-hidden 400 --layers 2 --context 70 --batch 20 $AWD --steps 12
run awd-3x1150-400 --model lstm --embed 400 --hidden 1150 --last-hidden 400 --layers 3 --context 70 --batch 20 $AWD --steps 6
run plain-2x650-400 --model lstm --embed 400 --hidden 650 --last-hidden 400 --layers 2 --context 70 --batch 20 --dropout 0.4 --optimizer sgd --momentum 0 --lr 30 --clip 0.25 --steps 12
