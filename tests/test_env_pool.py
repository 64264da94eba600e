"""The worker pool: parallel stepping, crash recovery, clean shutdown."""

from environments.interface import Task
from proxmo_jax.rollout.env_pool import EnvPool
from tests.pool_envs import EchoEnv

TASK = Task("toy", "t1", "echo")


def test_pool_steps_survives_crashes_and_closes():
  with EnvPool(EchoEnv, num_envs=4, num_workers=2, timeout=60) as pool:
    first = pool.reset([(TASK, 0)] * 4)
    pids = {r.observation.split("pid ")[1] for r in first}
    assert len(pids) == 2 and all(r.observation.startswith("reset t1 0") for r in first)
    out = pool.step({0: "a", 1: "b", 2: "c", 3: "d"})
    assert out[1].observation.startswith("b 1") and not out[1].done
    # Env 3 raises: its episode ends truncated, the worker (shared with env 1) lives on.
    out = pool.step({1: "b", 3: "raise"})
    assert out[3].done and out[3].info["truncated"] and "engine failure" in out[3].info["error"]
    assert out[1].observation.startswith("b 2") and pool.restarts == 0
    # Env 0 kills its worker: env 0 and env 2 (same worker) are truncated, env 1 goes on.
    out = pool.step({0: "crash", 1: "b", 2: "c"})
    assert out[0].done and out[0].info["worker_restarted"]
    assert out[2].done and out[2].info["truncated"]
    assert out[1].done and out[1].observation.startswith("b 3")
    assert pool.restarts == 1
    again = pool.reset([(TASK, 5)] * 4)
    assert all(r.observation.startswith("reset t1 5") for r in again)
    procs = list(pool._workers)
  assert all(not p.is_alive() for p in procs)
