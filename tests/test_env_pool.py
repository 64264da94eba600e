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
    # Contiguous blocks: envs 0, 1 on one worker, envs 2, 3 on the other (a group stays whole).
    assert [pool.worker_of(k) for k in range(4)] == [0, 0, 1, 1]
    assert first[0].observation.split("pid ")[1] == first[1].observation.split("pid ")[1]
    out = pool.step({0: "a", 1: "b", 2: "c", 3: "d"})
    assert out[2].observation.startswith("c 1") and not out[2].done
    # Env 3 raises: its episode ends truncated, the worker (shared with env 2) lives on.
    out = pool.step({2: "c", 3: "raise"})
    assert out[3].done and out[3].info["truncated"] and "engine failure" in out[3].info["error"]
    assert out[2].observation.startswith("c 2") and pool.restarts == 0
    # Env 0 kills its worker: env 0 and env 1 (same worker) are truncated, env 2 goes on.
    out = pool.step({0: "crash", 1: "b", 2: "c"})
    assert out[0].done and out[0].info["worker_restarted"]
    assert out[1].done and out[1].info["truncated"]
    assert out[2].done and out[2].observation.startswith("c 3")  # its 3rd step ends it
    assert pool.restarts == 1
    again = pool.reset([(TASK, 5)] * 4)
    assert all(r.observation.startswith("reset t1 5") for r in again)
    procs = list(pool._workers)
  assert all(not p.is_alive() for p in procs)
