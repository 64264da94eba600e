"""Projection of model text to an action and the validity flag (docs/environments.md#from-model-text-to-action)."""

import pytest

from environments.alfworld import prompts
from environments.projection import project_action

GOOD = "<think>the mug is on the desk</think><action>Go To Desk 1</action>"


@pytest.mark.parametrize("text,action,valid", [
    (GOOD, "go to desk 1", True),
    ("<THINK>x</THINK><ACTION>look</ACTION>", "look", False),  # think tags are case-sensitive
    ("<think>x</think><Action> open fridge 1 </action>", "open fridge 1", True),
    ("<think>x</think> go to desk 1", "<think>x</think> go to desk 1"[-30:], False),
    ("", "", False),
    ("<action>look</action>", "look", False),                  # no think tags
    ("<think>想</think><action>look</action>", "look", False),  # CJK character
    ("<think>a</think></action>look<action>", "", True),       # tags located independently
    ("<think>a</think><action>look", "<think>a</think><action>look"[-30:], False),
    ("é" * 10000 + "<think></think><action>take apple 1 from fridge 1</action>",
     "take apple 1 from fridge 1", True),
])
def test_projection_edge_cases(text, action, valid):
  assert project_action(text, tail=30) == (action, valid)


def test_invalid_output_sends_the_tail():
  text = "I am not sure what to do next, maybe I should look around the ROOM"
  assert project_action(text, tail=20) == (text.lower()[-20:], False)
  assert project_action(None)[1] is False


def test_choose_admissible_mode():
  adm = ["go to desk 1", "look", "take mug 2 from desk 1"]
  assert project_action(GOOD, admissible=adm) == ("go to desk 1", True)
  assert project_action("<think></think><action>go to  desk 1</action>", admissible=adm) == (
      "go to desk 1", True)
  assert project_action("<think></think><action>fly away</action>", admissible=adm) == (
      "fly away", False)


def test_prompts_follow_the_paper_layout():
  first = "-= Welcome to TextWorld, ALFRED! =-\n\nYou are in the middle of a room.\n\nYour task is to: put a mug in desk."
  p0 = prompts.build_prompt(first, [], first, ["go to desk 1", "help", "look"])
  assert "'go to desk 1'\n 'look'" in p0 and "'help'" not in p0 and "<think>" in p0
  hist = [(first, "go to desk 1"), ("You arrive at desk 1.", "take mug 1 from desk 1"),
          ("You pick up the mug 1.", "look")]
  p3 = prompts.build_prompt(first, hist, "Nothing happens.", ["look"])
  assert "Your task is to: put a mug in desk." in p3
  assert "already taken 3 step(s)" in p3 and "step 4" in p3
  assert "[Observation 2: 'You arrive at desk 1.', Action 2: 'take mug 1 from desk 1']" in p3
  assert "Observation 1:" not in p3
  compact = prompts.build_compact_prompt(first, hist, "Nothing happens.", ["look", "help"])
  assert compact.startswith("> take mug 1 from desk 1\nYou pick up the mug 1.\n> look\n")
  assert compact.endswith("Nothing happens.\nTask: put a mug in desk.\nActions: look\n")
