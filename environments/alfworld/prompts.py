"""ALFWorld prompts (docs/environments.md#alfworld-prompts) and the agent adapter used by the rollout loop.

Paper prompt: at t = 0 the current observation and the admissible actions; at t >= 1 the task,
how many steps were taken, the last `history_length` (observation, action) records, the current
step number and observation, and the admissible actions; both end with the instruction to
reason inside <think></think> and answer inside <action></action>. Admissible actions are
quoted and joined by newlines, with "help" removed. The compact prompt carries the same facts in
far fewer tokens, for small models trained on CPU.
"""

from __future__ import annotations

from typing import Sequence

from environments.projection import ProtocolAgent

INSTRUCTION = ("Now it's your turn to take an action. First reason step by step about the "
               "situation inside <think> </think> tags. Then give exactly one admissible action "
               "for this step inside <action> </action> tags.")


def task_from_observation(first_observation: str) -> str:
  """The task sentence of the initial observation ('Your task is to: ...')."""
  marker = "Your task is to:"
  i = first_observation.find(marker)
  return first_observation[i + len(marker):].strip() if i >= 0 else ""


def _admissible(admissible: Sequence[str]) -> str:
  return "\n ".join(f"'{a}'" for a in admissible if a != "help")


def build_prompt(first_observation: str, history: Sequence[tuple[str, str]], observation: str,
                 admissible: Sequence[str], history_length: int = 2) -> str:
  """The paper's ALFWorld prompt (no-history form at step 0)."""
  if not history:
    return (f"You are an expert agent acting in the ALFRED household environment.\n"
            f"Your current observation is: {observation}\n"
            f"Your admissible actions in this situation are:\n [{_admissible(admissible)}].\n\n"
            f"{INSTRUCTION}")
  t = len(history)
  recent = history[-history_length:] if history_length > 0 else []
  first_k = t - len(recent) + 1
  records = "\n".join(f"[Observation {first_k + i}: '{o}', Action {first_k + i}: '{a}']"
                      for i, (o, a) in enumerate(recent))
  return (f"You are an expert agent acting in the ALFRED household environment. Your task is "
          f"to: {task_from_observation(first_observation)}\n"
          f"Prior to this step, you have already taken {t} step(s). Below are the most recent "
          f"{len(recent)} observations and the actions you took:\n{records}\n"
          f"You are now at step {t + 1} and your current observation is: {observation}\n"
          f"Your admissible actions in this situation are:\n [{_admissible(admissible)}].\n\n"
          f"{INSTRUCTION}")


def build_compact_prompt(first_observation: str, history: Sequence[tuple[str, str]],
                         observation: str, admissible: Sequence[str],
                         history_length: int = 2) -> str:
  """A short prompt with the same facts, for small models.

  Oldest first, so that truncating a long prompt from the left drops history before the
  current observation, the task and the admissible actions:

      > {action k} / {observation after it}   (last `history_length` turns)
      {current observation}
      Task: {task}
      Actions: a | b | ...
  """
  recent = history[-history_length:] if history_length > 0 else []
  lines = []
  if recent:
    after = [o for o, _ in recent[1:]] + [observation]
    lines += [f"> {a}\n{o_next}" for (_, a), o_next in zip(recent, after)]
  else:
    lines.append(observation)
  lines.append(f"Task: {task_from_observation(first_observation)}")
  lines.append("Actions: " + " | ".join(a for a in admissible if a not in ("help", "inventory")))
  return "\n".join(lines) + "\n"


class AlfworldAgent(ProtocolAgent):
  """Prompt builder + projection for the rollout loop (`environments.interface.Agent`).

  Args:
    compact: use the compact prompt.
    history_length: number of past (observation, action) records shown.
    choose_admissible: an action must be an admissible command to be valid.
  """

  tail = 30
  paper_prompt = staticmethod(build_prompt)
  compact_prompt = staticmethod(build_compact_prompt)
