"""Small environments for the worker-pool tests (importable by spawned workers)."""

import os

from environments.interface import StepResult, TextEnv


class EchoEnv(TextEnv):
  """Echoes actions with the worker's pid; "crash" kills the process, "raise" raises."""

  def reset(self, task, seed):
    self.n = 0
    return StepResult(f"reset {task.task_id} {seed} pid {os.getpid()}")

  def step(self, action):
    if action == "crash":
      os._exit(3)
    if action == "raise":
      raise RuntimeError("engine failure")
    self.n += 1
    return StepResult(f"{action} {self.n} pid {os.getpid()}", done=self.n >= 3)
