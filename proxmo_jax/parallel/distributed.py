"""Multi-host start-up: `jax.distributed.initialize` from flags or the environment."""

from __future__ import annotations

import os
from typing import Optional

import jax


def initialize(coordinator: Optional[str] = None, num_processes: Optional[int] = None,
               process_id: Optional[int] = None) -> None:
  """Initialises multi-process JAX when more than one process is configured.

  Arguments default to PROXMO_COORDINATOR / PROXMO_NUM_PROCESSES / PROXMO_PROCESS_ID; with none
  set and one process, this is a no-op (on TPU pods and SLURM, `jax.distributed.initialize()`
  without arguments discovers them; pass coordinator="auto" for that).
  """
  coordinator = coordinator or os.environ.get("PROXMO_COORDINATOR")
  num_processes = num_processes or int(os.environ.get("PROXMO_NUM_PROCESSES", "1"))
  if process_id is None and "PROXMO_PROCESS_ID" in os.environ:
    process_id = int(os.environ["PROXMO_PROCESS_ID"])
  if coordinator == "auto":
    jax.distributed.initialize()
  elif coordinator and num_processes > 1:
    # CPU hosts (tests, laptops) run cross-process collectives through gloo; the flag only
    # concerns the CPU backend.
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(coordinator_address=coordinator, num_processes=num_processes,
                               process_id=process_id)
