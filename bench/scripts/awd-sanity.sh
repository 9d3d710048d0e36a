#!/bin/bash
# Sanity (issue 19; docs/recurrent.md), after npm run build:ts: a small 2-layer LSTM on Brown, 400 steps, plain dropout vs the AWD-LSTM options (same shape, same steps).
cd "$(dirname "$0")/../.."
shape="--model lstm --embed 64 --hidden 128 --last-hidden 64 --layers 2 --context 35 --batch 20 --steps 400 --eval-every 100 --eval-tokens 20000 --seed 1 --json --log-every 100"
REG="--bptt-jitter --weight-drop 0.3 --dropout-input 0.3 --dropout-hidden 0.2 --dropout-output 0.3 --embedding-dropout 0.05 --ar 2 --tar 1"
run() {
  name=$1; shift; echo "== $name: $*"; t0=$SECONDS
  node dist/cli/index.js train $shape "$@" 2>&1 | grep -E '"eval"|"done"|NT-ASGD|rror'
  echo "wall $((SECONDS - t0)) s"; uptime
}
run plain-adamw --dropout 0.3 --lr 0.003 --clip 1
run awd-regs-adamw $REG --lr 0.003 --clip 1
run awd-full-sgd $REG --optimizer sgd --momentum 0 --lr 30 --clip 0.25 --ntasgd 2
run plain-sgd --dropout 0.3 --optimizer sgd --momentum 0 --lr 30 --clip 0.25
