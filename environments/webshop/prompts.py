"""WebShop prompts (docs/environments.md#webshop-prompts) and the agent adapter of the rollout loop.

Paper prompt: at step 0 the persona, "Your task is to: {task}.", the current (formatted)
observation and the admissible actions, one "'action'," per line inside [ ]; from step 1 on,
also the number of steps taken, the last `history_length` records
"[Observation j: '<obs>', Action j: '<action>']" (1-based, newline-separated) and the current
step number. A history prompt longer than 13,000 characters falls back to the step-0 form.
Both end with the instruction to reason inside <think></think> and act inside
<action></action>. Projection: the text between the first <action> and </action>; without
them, the last 20 characters of the response, flagged invalid.

The compact prompt carries the same facts in far fewer tokens, for small models on CPU.
"""

from __future__ import annotations

from typing import Sequence

from environments.projection import ProtocolAgent

MAX_HISTORY_PROMPT_CHARS = 13000
PERSONA = "You are an expert autonomous agent operating in the WebShop e-commerce environment."
INSTRUCTION = ("Now it's your turn to take one action for the current step. First reason step "
               "by step about the current situation and which admissible action best advances "
               "the shopping goal, inside <think> </think> tags. Then give the one admissible "
               "action you choose inside <action> </action> tags.")


def _actions_block(admissible: Sequence[str]) -> str:
  return "[\n" + "\n".join(f"'{a}'," for a in admissible) + "\n]"


def build_prompt(task: str, history: Sequence[tuple[str, str]], observation: str,
                 admissible: Sequence[str], history_length: int = 2) -> str:
  """The paper's WebShop prompt; `task` is the instruction sentence."""
  no_history = (f"{PERSONA}\nYour task is to: {task}.\n"
                f"Your current observation is: {observation}.\n"
                f"Your admissible actions of the current situation are:\n"
                f"{_actions_block(admissible)}.\n\n{INSTRUCTION}")
  if not history or history_length <= 0:
    return no_history
  t = len(history)
  recent = history[-history_length:]
  first_k = t - len(recent) + 1
  records = "\n".join(f"[Observation {first_k + i}: '{o}', Action {first_k + i}: '{a}']"
                      for i, (o, a) in enumerate(recent))
  prompt = (f"{PERSONA}\nYour task is to: {task}.\n"
            f"Prior to this step, you have already taken {t} step(s). Below are the most "
            f"recent {len(recent)} observations and the corresponding actions you took:\n"
            f"{records}\n"
            f"You are now at step {t + 1} and your current observation is: {observation}.\n"
            f"Your admissible actions of the current situation are:\n"
            f"{_actions_block(admissible)}.\n\n{INSTRUCTION}")
  return no_history if len(prompt) > MAX_HISTORY_PROMPT_CHARS else prompt


def build_compact_prompt(task: str, history: Sequence[tuple[str, str]], observation: str,
                         admissible: Sequence[str], history_length: int = 2) -> str:
  """Last actions, the current observation, the task and the actions, oldest first, so that
  truncating from the left drops history first:

      > {action k}                (last `history_length` actions)
      {current observation}
      Task: {task}
      Actions: a | b | ...
  """
  recent = history[-history_length:] if history_length > 0 else []
  lines = [f"> {a}" for _, a in recent]
  lines += [observation, f"Task: {task}", "Actions: " + " | ".join(admissible)]
  return "\n".join(lines) + "\n"


class WebShopAgent(ProtocolAgent):
  """Prompt builder + projection for the rollout loop (`environments.interface.Agent`).

  `task_context` is the environment's task sentence (WebShopEnv's info["task"]); search[...]
  takes free text, so admissibility is never part of validity.
  """

  tail = 20
  paper_prompt = staticmethod(build_prompt)
  compact_prompt = staticmethod(build_compact_prompt)

  def __init__(self, compact: bool = False, history_length: int = 2):
    super().__init__(compact, history_length, choose_admissible=False)
