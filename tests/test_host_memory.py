"""proxmo_jax.host_memory: with keep_freed_memory(), a freed 64 MiB block serves the next
allocation of the same size without the kernel faulting its pages in again; under glibc's
defaults it is unmapped and every page of the next one faults again. Each case runs in its own
process (mallopt settings are per process and cannot be undone)."""
import os
import platform
import subprocess
import sys

import pytest

from proxmo_jax import host_memory

GLIBC = platform.libc_ver()[0] == "glibc"
PAGES = 64 * 2**20 // 4096   # pages of one 64 MiB block


def _huge_pages_always() -> bool:
  """Transparent huge pages for every mapping: then a fault maps 2 MiB, not one page."""
  try:
    with open("/sys/kernel/mm/transparent_hugepage/enabled") as f:
      return "[always]" in f.read()
  except OSError:
    return False

# Allocates, fills and frees a 64 MiB block three times with malloc (as XLA's CPU runtime takes
# its buffers; numpy would ask the kernel for huge pages), then prints the minor page faults of
# the last two rounds.
PROBE = """
import ctypes, ctypes.util, resource, sys
from proxmo_jax import host_memory
if sys.argv[1] == "keep":
  assert host_memory.keep_freed_memory() is True
  assert host_memory.keep_freed_memory() is True   # a second call is a no-op
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
size = 64 * 2**20
faults = []
for _ in range(3):
  before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
  block = libc.malloc(size)
  ctypes.memset(block, 1, size)
  libc.free(block)
  faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(sum(faults[1:]))
"""


def _faults(mode: str, **env) -> int:
  out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True,
                       env={**os.environ, **env}, check=True, timeout=120)
  return int(out.stdout.split()[-1])


@pytest.mark.skipif(not GLIBC, reason="mallopt's settings are glibc's")
def test_kept_memory_is_reused_without_page_faults():
  default = _faults("default")
  kept = _faults("keep", **{host_memory.ENV_VAR: "keep"})
  # glibc's default: both later blocks are mapped afresh, every page faults once (every 2 MiB
  # under huge pages for all mappings).
  assert default >= (2 * 32 if _huge_pages_always() else 2 * PAGES) * 0.9, default
  # kept: the first block's pages serve both later ones (a few faults at most, from the
  # interpreter's own allocations between the rounds).
  assert kept < 0.05 * PAGES and kept < default, (kept, default)


@pytest.mark.skipif(not GLIBC, reason="mallopt's settings are glibc's")
def test_the_environment_variable_leaves_malloc_alone():
  probe = ("from proxmo_jax import host_memory; "
           "print(host_memory.keep_freed_memory())")
  run = lambda value: subprocess.run(
      [sys.executable, "-c", probe], capture_output=True, text=True, check=False, timeout=60,
      env={**os.environ, host_memory.ENV_VAR: value})
  assert run("default").stdout.split() == ["False"]
  bad = run("sometimes")
  assert bad.returncode != 0
  assert "PROXMO_JAX_MALLOC='sometimes'" in bad.stderr and "'default'" in bad.stderr
