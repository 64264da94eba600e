"""Corridor prompts and projection (the Agent of the rollout loop).

Compact prompt (default): history first, so that a prompt cut from the left to the model's
limit drops it first, and the current observation last, next to the response, so that its
last sentence (the cue of the expert's next command, render.py) sits at a fixed distance from
the answer:

    {observation k}                   (last `history_length` turns)
    > {action k}
    ...
    Task: {task sentence}
    Actions: a | b | ...
    {current observation}

The paper prompt carries the same facts in the paper's ALFWorld phrasing
(docs/environments.md#corridor). Responses and projection follow the paper's protocol
(environments/projection.py, tail 30); with choose_admissible an action must also be one of
the admissible commands to be valid.
"""

from __future__ import annotations

from typing import Sequence

from environments.projection import ProtocolAgent

INSTRUCTION = ("Now it's your turn to take an action. First reason step by step about the "
               "situation inside <think> </think> tags. Then give exactly one admissible action "
               "for this step inside <action> </action> tags.")


def build_compact_prompt(task: str, history: Sequence[tuple[str, str]], observation: str,
                         admissible: Sequence[str], history_length: int = 2) -> str:
  recent = list(history[-history_length:]) if history_length > 0 else []
  lines = [f"{o}\n> {a}" for o, a in recent]
  lines.append(f"Task: {task}")
  lines.append("Actions: " + " | ".join(admissible))
  lines.append(observation)
  return "\n".join(lines) + "\n"


def build_paper_prompt(task: str, history: Sequence[tuple[str, str]], observation: str,
                       admissible: Sequence[str], history_length: int = 2) -> str:
  actions = "\n ".join(f"'{a}'" for a in admissible)
  head = f"You are an expert agent escaping a corridor of halls. Your task is: {task}\n"
  if history:
    t = len(history)
    recent = list(history[-history_length:]) if history_length > 0 else []
    first_k = t - len(recent) + 1
    records = "\n".join(f"[Observation {first_k + i}: '{o}', Action {first_k + i}: '{a}']"
                        for i, (o, a) in enumerate(recent))
    head += (f"Prior to this step, you have already taken {t} step(s). Below are the most "
             f"recent {len(recent)} observations and the actions you took:\n{records}\n"
             f"You are now at step {t + 1} and your current observation is: {observation}\n")
  else:
    head += f"Your current observation is: {observation}\n"
  return (f"{head}Your admissible actions in this situation are:\n [{actions}].\n\n"
          f"{INSTRUCTION}")


class CorridorAgent(ProtocolAgent):
  """Prompt builder; the protocol (stop strings, expert response, projection) is
  ProtocolAgent's.

  Args:
    compact: the compact prompt (else the paper's phrasing).
    history_length: past (observation, action) records shown.
    choose_admissible: an action must be an admissible command to be valid.
  """

  paper_prompt = staticmethod(build_paper_prompt)
  compact_prompt = staticmethod(build_compact_prompt)

  def __init__(self, compact: bool = True, history_length: int = 2,
               choose_admissible: bool = False):
    super().__init__(compact, history_length, choose_admissible)
