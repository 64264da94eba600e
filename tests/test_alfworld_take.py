"""experiments/alfworld_take.py: the task's object in view, hands empty, and what was done there,
counted by hand on made-up episodes."""
import json
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "experiments"))
import alfworld_take  # noqa: E402

START = ("-= Welcome to TextWorld, ALFRED! =-\n\nYou are in the middle of a room. Looking quickly "
         "around you, you see a cabinet 1, a shelf 1, and a microwave 1.\n\nYour task is to: "
         "{goal}.")


def _episode(goal, steps):
  """steps: (observation the action answered, action); the first observation is the start."""
  return {"steps": [{"observation": START.format(goal=goal) if i == 0 else o, "action": a}
                    for i, (o, a) in enumerate(steps)]}


@pytest.mark.parametrize("goal, obj", [
    ("put a plate in microwave", "plate"), ("put some plate on shelf", "plate"),
    ("put a clean cloth in countertop", "cloth"),
    ("clean some cloth and put it in countertop", "cloth"),
    ("put a hot apple in fridge", "apple"), ("heat some apple and put it in fridge", "apple"),
    ("put a cool mug in cabinet", "mug"), ("cool some mug and put it in cabinet", "mug"),
    ("put two spraybottle in toilet", "spraybottle"),
    ("find two spraybottle and put them in toilet", "spraybottle"),
    ("look at watch under the desklamp", "watch"),
    ("examine the watch with the floorlamp", "watch")])
def test_the_object_of_every_goal_template(goal, obj):
  assert alfworld_take.task_object(START.format(goal=goal)) == obj


def test_another_goal_form_is_an_error_naming_it():
  with pytest.raises(ValueError, match="slice the bread"):
    alfworld_take.task_object(START.format(goal="slice the bread"))


def test_counts_the_states_with_the_object_in_view_and_empty_hands():
  steps = [
      ("", "go to shelf 1"),                                            # start: no plate shown
      ("You arrive at shelf 1. On the shelf 1, you see a cup 1, and a plate 2.",
       "go to cabinet 1"),
      ("You arrive at cabinet 1. The cabinet 1 is closed.", "open cabinet 1"),
      ("You open the cabinet 1. The cabinet 1 is open. In it, you see a plate 1.",
       "close cabinet 1"),
      ("You close the cabinet 1.", "go to shelf 1"),
      ("You arrive at shelf 1. On the shelf 1, you see a cup 1, and a plate 2.",
       "take plate 2 from shelf 1"),
      ("You pick up the plate 2 from the shelf 1.", "go to cabinet 1"),  # held: not counted
      ("You arrive at cabinet 1. In it, you see a plate 1.", "put plate 2 in/on cabinet 1"),
      ("You put the plate 2 in/on the cabinet 1.", "take plate 1 from cabinet 1"),  # no list
      ("Nothing happens. In it, you see a plate 1.", "take cup 1 from cabinet 1"),  # empty again
  ]
  counts = alfworld_take.take_counts([_episode("put two plate in cabinet", steps)])
  assert counts == {"episodes": 1, "states": 4, "took": 1,
                    "verbs": {"go": 1, "close": 1, "take": 2}}


def test_a_name_inside_another_word_or_without_a_number_is_not_in_view():
  assert not alfworld_take.shows("On the shelf 1, you see a saltshaker 1.", "shaker")
  assert not alfworld_take.shows("On the shelf 1, you see a plate.", "plate")
  assert not alfworld_take.shows("The plate 1 is here.", "plate")  # not after "you see"
  assert alfworld_take.shows("On the shelf 1, you see an apple 3.", "apple")


def test_main_reads_the_stored_chunks(tmp_path, capsys):
  chunk = {"key": {}, "seconds": 1.0, "episodes": [_episode("put a plate in microwave", [
      ("", "go to shelf 1"),
      ("You arrive at shelf 1. On the shelf 1, you see a plate 1.", "take plate 1 from shelf 1")])]}
  (tmp_path / "p0_c0.json").write_text(json.dumps(chunk))
  alfworld_take.main([str(tmp_path)])
  line = json.loads(capsys.readouterr().out)
  assert (line["states"], line["took"]) == (1, 1)
  with pytest.raises(SystemExit, match="no p<process>_c<start>.json chunks"):
    alfworld_take.main([str(tmp_path / "none")])
