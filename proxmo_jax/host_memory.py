"""Host memory: freed blocks stay in the process for reuse (glibc malloc), so that XLA's CPU
buffers are not faulted in again on every step.

XLA's CPU runtime takes each execution's buffers from malloc and frees them when it ends. Under
glibc's defaults a block above the mmap threshold (dynamic, at most 32 MiB) is mapped and
unmapped each time, a block freed by a thread goes back to that thread's arena (heaps of 64 MiB,
released when empty), and free space at the top of the main heap is returned to the kernel
(trimmed). Every step then touches fresh pages, and the kernel zero-fills each one on a minor
page fault. Measured on the 2-core CPU (a PPO update at SmolLM2-135M's shapes, 8 rows of 192 +
64 tokens, full params, AdamW): 1.69 million minor faults (6.9 GB of pages) and 4.1-4.5 s of
system time per step, 10.0-10.7 s of wall time; with `keep_freed_memory()` no faults after the
first five steps and 7.95-8.39 s, for a peak resident size of 9.2 GB instead of 7.9 GB; a
full fine-tuning step of behaviour cloning 1.14x faster (docs/performance.md: host memory).

`keep_freed_memory()` sets three `mallopt` parameters (`man 3 mallopt`):
  M_ARENA_MAX = 1        one arena for every thread, so a block freed by one thread serves the
                         next allocation of another;
  M_MMAP_MAX = 0         no block is served by mmap, so none is unmapped when freed;
  M_TRIM_THRESHOLD = -1  the top of the heap is never given back to the kernel.
The process's resident memory then stays at its high-water mark, which fragmentation raises
(measured above: 9.2 against 7.9 GB for the update, 7.8 against 6.1 GB for behaviour cloning);
where memory is tighter than time, turn it off. Call it at the start of a program, before JAX
runs anything (arenas that threads already hold keep serving them). The scripts under
`experiments/` call it; the environment variable PROXMO_JAX_MALLOC=default turns it off
(glibc's defaults), and on a C library other than glibc it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform

ENV_VAR = "PROXMO_JAX_MALLOC"     # "default": leave malloc as it is
M_TRIM_THRESHOLD, M_MMAP_MAX, M_ARENA_MAX = -1, -4, -8   # glibc's <malloc.h>

_applied = False


def keep_freed_memory() -> bool:
  """Makes glibc's malloc keep freed memory for reuse (see the module docstring).

  Returns True when the settings are in force (now or from an earlier call), False when
  PROXMO_JAX_MALLOC=default asks for glibc's defaults or the C library is not glibc.
  """
  global _applied
  if _applied:
    return True
  setting = os.environ.get(ENV_VAR, "keep")
  if setting not in ("keep", "default"):
    raise ValueError(f"{ENV_VAR}={setting!r}: use 'keep' (freed memory stays in the process, "
                     "the default) or 'default' (glibc's malloc settings).")
  if setting == "default" or platform.libc_ver()[0] != "glibc":
    return False
  libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
  for param, value in ((M_ARENA_MAX, 1), (M_MMAP_MAX, 0), (M_TRIM_THRESHOLD, -1)):
    if libc.mallopt(param, value) != 1:
      raise OSError(f"mallopt({param}, {value}) failed; run with {ENV_VAR}=default to leave "
                    "malloc's settings alone.")
  _applied = True
  return True


__all__ = ["ENV_VAR", "keep_freed_memory"]
