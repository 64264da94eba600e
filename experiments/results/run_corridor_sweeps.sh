#!/bin/bash
# The corridor comparisons of experiments/RESULTS.md, in the order they were run (one heavy job
# at a time on 2 cores). Each command resumes: pairs already in runs.json are skipped.
set -e
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
COMMON="--env corridor --budget cpu --seeds 0,1,2,3,4 --set eval.num_tasks=128 --set eval.every=6"
# The default setting (paraphrase 0, difficulty spread 1): every estimator.
$PY experiments/compare_estimators.py $COMMON \
  --estimators grpo,rloo,gigpo,proxmo,proxmo_no_modulation,proxmo_no_soft \
  --out experiments/results/corridor_paraphrase --sweep env.paraphrase_rate=0
# The sweeps: ProxMO and the two baselines of the paired differences.
$PY experiments/compare_estimators.py $COMMON --estimators grpo,gigpo,proxmo \
  --out experiments/results/corridor_paraphrase --sweep env.paraphrase_rate=0,1
$PY experiments/compare_estimators.py $COMMON --estimators grpo,gigpo,proxmo \
  --out experiments/results/corridor_spread --sweep env.difficulty_spread=0
$PY experiments/compare_estimators.py $COMMON --estimators grpo,gigpo,proxmo \
  --out experiments/results/corridor_paraphrase --sweep env.paraphrase_rate=0,0.5,1
