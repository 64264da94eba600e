"""Test setup: 8 fake CPU devices for the sharding tests, float32 by default, and one XLA
compilation cache for the session.

XLA_FLAGS must be set before jax is first imported anywhere in the process.

The compilation cache: tests build new jitted closures (trainers, samplers, updates) over the
same small shapes again and again, and each new closure is traced and handed to XLA afresh. With
JAX's persistent cache in a directory made for this session (and removed at its end), XLA
compiles each distinct program once per session; later tests load it. Tracing still happens in
every test, so the tests that count traces (`_cache_size`) see the same counts; the cache key
holds the program, its compile options and the devices, so a program compiled under other
options (tests/test_model.py's decode options) is compiled again. Subprocesses started by tests
inherit the directory (JAX lets only process 0 of a multi-process run write to it).

Measured on 2 CPU cores (`pytest -m "not slow" --durations=0 tests`, one run each, 2026-12-07):
the default suite took 1495 s without the cache and 1368 s with it; the comparison script's
resume test (tests/test_compare_estimators.py, before its split) 261 s and 168 s. Compiling at
XLA's lowest backend optimisation level as well (`--xla_backend_optimization_level=0`) was no
faster as a whole (1379 s): the model and LoRA tests' compiles ran faster, the corridor
comparisons' many executions slower, so it is not set.

Under pytest-xdist (`make test` runs two workers) each worker process runs this file and has its
own cache directory. The default suite in two workers took 856 s against the 1368 s of one
process with xdist's own file order (by number of tests, which leaves the few-test, long files
such as test_multihost.py for last), 887 s in a clean clone, and 824 s with the longest files
first (`--no-loadscope-reorder` and the order below; the tests' summed time was 1562 s, so the
two workers ended 43 s past an even split). A clean clone with that order later took 988 s (33
min of CPU against 29 and 27 in the runs before it; a stopped training job held 12.6 GB of the
machine's memory beside it), so runs here spread by about 20 %. Same machine, 2026-12-07.
With the two-process frozen-hidden iterations moved to a slow test of their own
(tests/test_multihost.py), a clean clone took 815 s (16 min 16 s with the install; the two-process
test 119 s against 184 s in the 824 s run).
"""
import atexit
import os
import shutil
import tempfile

os.environ.setdefault("JAX_PLATFORMS", "cpu")
_flags = os.environ.get("XLA_FLAGS", "")
if "xla_force_host_platform_device_count" not in _flags:
  os.environ["XLA_FLAGS"] = (_flags + " --xla_force_host_platform_device_count=8").strip()

_cache = tempfile.mkdtemp(prefix="proxmo_jax_tests_xla_cache_")
atexit.register(shutil.rmtree, _cache, ignore_errors=True)
os.environ["JAX_COMPILATION_CACHE_DIR"] = _cache
os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"
os.environ["JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES"] = "-1"

# The files that took 20 s or more in one process (seconds, `--durations=0`, 2026-12-07), run
# first: `make test`'s two workers take whole files in collection order, so a long file started
# last would leave the other worker idle at the end. The remaining files follow in name order.
_LONGEST_FILES_FIRST = (
    "test_model.py",             # 205
    "test_lora.py",              # 169
    "test_toy_environment.py",   # 143
    "test_multihost.py",         # 135
    "test_compare_estimators.py",  # 93 (its default part)
    "test_trainer.py",           # 90
    "test_training_update.py",   # 90
    "test_alfworld_fast.py",     # 63
    "test_alfworld.py",          # 36
    "test_advantages_properties.py",  # 36
    "test_smollm2_parity.py",    # 25 (its default part)
    "test_proximity.py",         # 20
)


def pytest_collection_modifyitems(items):
  rank = {name: i for i, name in enumerate(_LONGEST_FILES_FIRST)}
  items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: name order after
