#!/bin/bash
# The files a lent GPU needs for experiments/device_rl.sh, made from this checkout's .venv (the
# device has no network, and one call carries at most 64 MiB of working tree):
#
#   experiments/prepare_device_carry.sh [alfworld [dart|dart_full|dart_full2]]
#
#   .w/a      the first 58,000,000 bytes of SmolLM2-135M-Instruct.Q4_1.gguf   (call 1)
#   .whl/     cp312 wheels of what the device image lacked                      (call 1)
#   .w2/b     the rest of the GGUF                                              (call 2)
#   .w2/alfpkgs.tgz, .w2/games.tgz   with `alfworld`: TextWorld's engine packages, the
#             fast_downward planner and the generated games of data/alfworld_gen (call 2)
#   .w2/bc_demos.json.gz   with `alfworld dart` or `alfworld dart_full`: the DART demonstrations
#             of the CPU queue's step 8 (runs/smollm2_alfworld_dart/bc_demos.json; made here with
#             `sft.py --demos_only` when absent, about 10 min on 2 cores), so that the device does
#             not replay them
#   .w2/bc0_demos.json.gz, .w2/bc_demos.json.gz   with `alfworld dart_full2`: step 8's for the
#             first clone and step 14's (seed 1, runs/smollm2_alfworld_dart_full2/bc_demos.json,
#             made the same way when absent) for the second
#
# .w, .w2 and .whl are in .gitignore. It prints the two device commands (docs/accelerators.md:
# the procedure and what each call measured). Run it after `make test` (the .venv, the wheel).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
GGUF=$($PY -c "from proxmo_jax.models import gguf_import; print(gguf_import.smollm2_path())")
mkdir -p .w .w2 .whl
head -c 58000000 "$GGUF" > .w/a
tail -c +58000001 "$GGUF" > .w2/b
echo "GGUF $GGUF sha256 $(sha256sum "$GGUF" | cut -c1-64)"
# The versions in this .venv; binary wheels for the device's Python 3.12.
$PY -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
  --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux_2_28_x86_64 --platform any -d .whl \
  ml-collections==1.1.0 gguf==0.19.0 bm25s==0.3.16 PyStemmer==3.1.0 rapidfuzz==3.14.6 \
  tensorboardX==2.6.5
if [ "${1:-}" = alfworld ]; then
  test -f data/alfworld_gen/.complete || {
    echo "data/alfworld_gen is incomplete: experiments/cpu_rl_queue.sh step 4 makes it" >&2
    exit 1; }
  # Pure Python but for jericho's libfrotz.so and fast_downward's libdownward.so (the planner
  # environments/alfworld/fast_engine.py imports), C libraries loaded with ctypes, so the
  # installed directories serve Python 3.12 too (no cp312 wheel of jericho 3.3.1 exists).
  # libdownward.so is 34 MB with its debug info (11.4 MiB compressed, which with the rest would
  # leave call 2 under 3 MiB of its 64), 1.3 MB without: the copy carried has it stripped.
  SITE=$($PY -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
  STAGE=$(mktemp -d)
  cp -r "$SITE/fast_downward" "$STAGE/"
  if command -v strip > /dev/null; then strip --strip-debug "$STAGE/fast_downward/libdownward.so"; fi
  tar czf .w2/alfpkgs.tgz --exclude=__pycache__ -C "$SITE" textworld alfworld jericho tatsu \
    hashids.py mementos more_itertools termcolor prompt_toolkit wcwidth networkx \
    -C "$STAGE" fast_downward
  rm -rf "$STAGE"
  tar czf .w2/games.tgz -C data alfworld_gen
  rm -f .w2/bc_demos.json.gz .w2/bc0_demos.json.gz
  # The queue's step 8 config (the demonstrations' key is the same as the device's BC config's:
  # the env config less its worker count, the demonstrator, the seed and the tasks); SEED 1 with
  # step 14's directory.
  DART="configs/alfworld.py:proxmo,smollm2,env.prompt=compact,env.max_steps=30"
  DART="$DART,env.history_length=6,sft.expert_noise=0.2,sft.expert_labels=expert"
  demos() {  # demos WORKDIR SEED OUT: the demonstrations in WORKDIR (made when absent), gzipped
    test -f "$1/bc_demos.json" || $PY experiments/sft.py --demos_only --config="$DART,seed=$2" \
      --workdir="$1"
    gzip -c "$1/bc_demos.json" > "$3"
  }
  case "${2:-}" in
    dart|dart_full) demos runs/smollm2_alfworld_dart 0 .w2/bc_demos.json.gz;;
    dart_full2)
      demos runs/smollm2_alfworld_dart 0 .w2/bc0_demos.json.gz
      demos runs/smollm2_alfworld_dart_full2 1 .w2/bc_demos.json.gz;;
    "") ;;
    *) echo "$2: use dart, dart_full or dart_full2 (or nothing: the walkthrough start)" >&2
       exit 2;;
  esac
fi
du -cb .w .whl | tail -1 | awk '{printf "call 1 carries %.1f MiB\n", $1 / 1048576}'
du -cb .w2 | tail -1 | awk '{printf "call 2 carries %.1f MiB\n", $1 / 1048576}'
ENV=webshop EXTRA=""
if [ "${1:-}" = alfworld ]; then
  ENV=alfworld
  EXTRA="tar xzf .w2/alfpkgs.tgz -C /root/pydeps && mkdir -p data && tar xzf .w2/games.tgz -C data && "
  if [ -n "${2:-}" ]; then
    EXTRA="${EXTRA}mkdir -p /root/run/bc && gunzip -c .w2/bc_demos.json.gz > /root/run/bc/bc_demos.json && "
    [ "$2" = dart_full2 ] && EXTRA="${EXTRA}mkdir -p /root/run/bc0 && gunzip -c \
.w2/bc0_demos.json.gz > /root/run/bc0/bc_demos.json && "
    EXTRA="${EXTRA}ALF_START=$2 "
  fi
fi
cat <<EOF
call 1 (carry [".w", ".whl"]):
  pip install -q --no-deps --no-index --target /root/pydeps .whl/*.whl && cp .w/a /root/w_a
call 2 at once (carry [".w2"]; the machine stays warm about 30 s):
  cat /root/w_a .w2/b > /root/smollm2.gguf && sha256sum /root/smollm2.gguf && ${EXTRA}PYTHONPATH=/root/pydeps:\$PWD PY=python3 experiments/device_rl.sh $ENV /root/smollm2.gguf /root/run 550 full \$OUT
EOF
