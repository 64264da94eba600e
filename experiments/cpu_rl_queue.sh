#!/bin/bash
# Issue #15's programme on a 2-core CPU: RL on the behaviour-cloned SmolLM2-135M-Instruct, one
# heavy job at a time, in this order. Every step resumes or is skipped when its output is
# complete, so after a stop (a session's end kills background jobs) run it again:
#
#     nohup experiments/cpu_rl_queue.sh >> runs/cpu_rl_queue.log 2>&1 &
#
# Each step's command line is appended to <its run directory>/command.txt before it starts.
#   1. WebShop: ProxMO then GRPO, 8 iterations each, from the continued clone (43/100 held out).
#   2. WebShop: the same start on 100 training goals (train vs held-out after BC).
#   3. ALFWorld: 40 games per task type and split (240 train, 240 test; about 35 min).
#   4. ALFWorld: behaviour cloning of SmolLM2 on the expert walkthroughs (compact prompt).
#   5. ALFWorld: the clone on 102 held-out and 102 training games.
# The ALFWorld RL comparison is chosen from step 5's measurements (episode length and time per
# game set the horizon and the evaluation size), so it is not queued here.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
mkdir -p runs

step() {  # step <run dir> <command...>: log and record the command, then run it
  local dir=$1; shift
  mkdir -p "$dir"
  echo "[queue $(date -u +%FT%TZ)] $*"
  echo "$(date -u +%FT%TZ) $*" >> "$dir/command.txt"
  "$@"
}

rows_done() {  # rows_done <eval_metrics.json> <n>: true when it holds n evaluated splits
  test -f "$1" && $PY -c "import json, sys; sys.exit(len(json.load(open(sys.argv[1]))) < int(sys.argv[2]))" "$1" "$2"
}

WEBSHOP_BC=runs/smollm2_webshop_bc2/sft
test -f "$WEBSHOP_BC/params.npz" || { echo "missing $WEBSHOP_BC/params.npz (README: BC)"; exit 1; }

# 1. compare_estimators keeps its own command.txt and skips the finished (estimator, seed) pairs.
# Both estimators of a paired comparison must run the same code: ProxMO ran at commit 40bd38e,
# so GRPO resumes from a checkout of that commit (a git worktree under .pinned/, first on
# PYTHONPATH), whatever main has become since.
PIN=40bd38e
test -d ".pinned/$PIN" || git worktree add --detach ".pinned/$PIN" "$PIN"
echo "[queue $(date -u +%FT%TZ)] 1. WebShop comparison (code at $PIN)"
PYTHONPATH="$PWD/.pinned/$PIN" $PY ".pinned/$PIN/experiments/compare_estimators.py" --env webshop --budget cpu --size smollm2 \
  --start "$WEBSHOP_BC" --estimators proxmo,grpo --seeds 0 \
  --out experiments/results/compare_webshop_smollm2 \
  --set env.prompt=compact --set env.max_steps=10 --set eval.num_tasks=100 --set iterations=8 \
  --set eval.every=4 --set checkpoint.every=1 --set ppo.old_logprobs=sampled \
  --set ppo.mini_batch=32

# 2. The held-out row of this start is the comparison's iteration 0 (same settings).
W=runs/smollm2_webshop_bc2_train_eval
rows_done "$W/eval_metrics.json" 1 || step "$W" $PY experiments/evaluate.py \
  --config=configs/webshop.py:proxmo,smollm2,env.prompt=compact,env.max_steps=10 \
  --workdir="$W" --params="$WEBSHOP_BC" --split=train --num_tasks=100

# 3. generate_alfworld validates every game with the expert; the marker says all were written.
A=data/alfworld_gen
test -f "$A/.complete" || { step runs/alfworld_gen $PY experiments/generate_alfworld.py \
  --root "$A" --per_task 40 --workers 2 && touch "$A/.complete"; }

# 4. Resumes from <workdir>/bc_state every 10 steps.
B=runs/smollm2_alfworld_bc
ALF="configs/alfworld.py:proxmo,smollm2,env.prompt=compact,env.max_steps=30"
test -f "$B/sft/params.npz" || step "$B" $PY experiments/sft.py \
  --config="$ALF,sft.steps=150,sft.checkpoint_every=10" --workdir="$B"

# 5. Both splits, 17 games per task type each.
E=runs/smollm2_alfworld_bc_eval
rows_done "$E/eval_metrics.json" 2 || step "$E" $PY experiments/evaluate.py --config="$ALF" \
  --workdir="$E" --params="$B/sft" --split=both --num_tasks=102
echo "[queue $(date -u +%FT%TZ)] done"
