"""What a run ran on: the libraries that shape its numbers, the CPU and the host's memory, the
devices and XLA_FLAGS.

Every call of behaviour cloning and every built experiment (training, evaluation, comparisons)
appends one JSON line to <workdir>/environment.jsonl, so a run made again can be told apart from
the first by its machine as well as by its code. The same code and inputs can give float32
results that differ in their last digits between machines or library builds (the ALFWorld start
v3's first behaviour-cloning step: loss 3.1775946 in its remake, 3.1775937 in the published run
of the same model code, while run again on one machine it repeats to the last digit;
docs/pretrained_rl.md), and a sampled RL run then follows another path. The host's memory,
set against a job's own use, tells how near the out-of-memory killer it ran (2026-12-07: a
paused behaviour-cloning run of 13 GB on a 23 GB host, killed when a benchmark ran beside it).
"""

from __future__ import annotations

import datetime
import json
import os
import platform
from importlib import metadata
from typing import Optional

# Distributions whose version can change a run's numbers (or its environments' games).
PACKAGES = ("jax", "jaxlib", "numpy", "flax", "optax", "orbax-checkpoint", "ml-collections",
            "alfworld", "textworld")
# CPU features by which the float32 kernels of XLA and of BLAS libraries can differ.
CPU_FEATURES = ("avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "amx_tile", "amx_bf16",
                "asimd", "sve")


def _version(package: str) -> Optional[str]:
  try:
    return metadata.version(package)
  except metadata.PackageNotFoundError:
    return None


def cpu() -> dict:
  """{"model", "features" (those of CPU_FEATURES it has), "cpus" (this process may use)}: the
  first core's model name and flags in /proc/cpuinfo where there is one, else `platform`'s
  processor name and no features."""
  found = {}
  try:
    with open("/proc/cpuinfo") as f:
      for line in f:
        key, _, value = line.partition(":")
        found.setdefault(key.strip(), value.strip())  # the first core's
  except OSError:
    pass
  model = found.get("model name") or found.get("Model") or platform.processor() or \
      platform.machine()
  flags = set((found.get("flags") or found.get("Features") or "").split())
  cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
  return {"model": model, "features": [f for f in CPU_FEATURES if f in flags], "cpus": cpus}


def memory_gib() -> Optional[float]:
  """The host's physical memory in GiB (one decimal), or None where the OS does not tell."""
  try:
    pages, page_size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
  except (AttributeError, ValueError, OSError):
    return None
  return round(pages * page_size / 2**30, 1) if pages > 0 and page_size > 0 else None


def environment() -> dict:
  """This process's environment record (see the module docstring)."""
  import jax  # pylint: disable=import-outside-toplevel
  return {"time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
          "python": platform.python_version(),
          "packages": {p: _version(p) for p in PACKAGES},
          "cpu": cpu(),
          "memory_gib": memory_gib(),
          "devices": sorted({f"{d.platform}:{d.device_kind}" for d in jax.devices()}),
          "device_count": jax.device_count(),
          "xla_flags": os.environ.get("XLA_FLAGS", "")}


def record(workdir: str) -> None:
  """Appends environment() as one line to <workdir>/environment.jsonl."""
  os.makedirs(workdir, exist_ok=True)
  with open(os.path.join(workdir, "environment.jsonl"), "a") as f:
    f.write(json.dumps(environment()) + "\n")


__all__ = ["CPU_FEATURES", "PACKAGES", "cpu", "environment", "memory_gib", "record"]
