"""The response protocol of the paper's agents: `<think>...</think><action>...</action>`.

One place for it: `format_response` writes a response (behaviour-cloning targets), `STOP`
ends sampling after the action, and `project_action` reads a model's text back into an
environment action with the reference's validity flag
(docs/environments.md#from-model-text-to-action):

    text_l  = text.lower()
    action  = text_l[i + len("<action>") : j].strip()   i, j = first "<action>", first "</action>"
    valid   = both action tags found  and  "<think>" and "</think>" in text (case-sensitive)
              and no CJK character (U+4E00..U+9FFF) in text
    invalid -> the action sent is the last `tail` characters of text_l (30 ALFWorld, 20 WebShop)

As in the reference, the two action tags are located independently: a "</action>" before the
first "<action>" yields an empty action that still counts as valid. Admissibility is not part
of validity, except in the optional choose-from-admissible mode (`admissible` given), where an
action that is not an admissible command is invalid too.
"""

from __future__ import annotations

import re
from typing import Optional, Sequence

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
ACTION_OPEN, ACTION_CLOSE = "<action>", "</action>"
TAGS = (THINK_OPEN, THINK_CLOSE, ACTION_OPEN, ACTION_CLOSE)
STOP = ACTION_CLOSE  # sampling stops once the action is closed

_CJK = re.compile(r"[\u4e00-\u9fff]")
_SPACES = re.compile(r"\s+")


def format_response(command: str, thought: str = "") -> str:
  """A response in the protocol; an empty thought by default (behaviour-cloning targets: small
  models do not profit from made-up reasoning)."""
  return f"{THINK_OPEN}{thought}{THINK_CLOSE}{ACTION_OPEN}{command}{ACTION_CLOSE}"


def project_action(text: str, tail: int = 30,
                   admissible: Optional[Sequence[str]] = None) -> tuple[str, bool]:
  """Returns (action, valid) for any input string (see module docstring)."""
  text = text if isinstance(text, str) else str(text)
  lower = text.lower()
  start, end = lower.find("<action>"), lower.find("</action>")
  if start == -1 or end == -1:
    return lower[-tail:], False
  action = lower[start + len("<action>"):end].strip()
  valid = "<think>" in text and "</think>" in text and not _CJK.search(text)
  if admissible is not None:
    normalized = _SPACES.sub(" ", action)
    options = {_SPACES.sub(" ", a.strip().lower()): a for a in admissible}
    if normalized in options:
      action = options[normalized]
    else:
      valid = False
  return action, valid


class ProtocolAgent:
  """Base of the agents that speak this protocol: a subclass names its two prompt builders;
  the choice between them, the stop strings, the behaviour-cloning response and the
  projection are shared.

  A prompt builder is fn(task_context, history, observation, admissible, history_length) -> str.

  Args:
    compact: use `compact_prompt` (small models) instead of `paper_prompt`.
    history_length: past (observation, action) records shown.
    choose_admissible: an action must also be one of the admissible commands to be valid.

  Attributes:
    tail: characters of an invalid output sent to the env (30 ALFWorld, 20 WebShop).
  """
  tail = 30
  stop_strings = (STOP,)
  special_strings = TAGS  # kept whole by a tokenizer trained for the agent
  paper_prompt = None
  compact_prompt = None

  def __init__(self, compact: bool = False, history_length: int = 2,
               choose_admissible: bool = False):
    self.compact = compact
    self.history_length = history_length
    self.choose_admissible = choose_admissible

  def build_prompt(self, task_context, history, observation, admissible) -> str:
    fn = self.compact_prompt if self.compact else self.paper_prompt
    return fn(task_context, history, observation, admissible, self.history_length)

  def expert_response(self, command: str) -> str:
    return format_response(command)

  def project(self, text: str, admissible: Sequence[str]) -> tuple[str, bool]:
    return project_action(text, self.tail, admissible if self.choose_admissible else None)
