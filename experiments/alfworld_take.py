"""Does an ALFWorld policy pick up the task's object when it sees it? Read from stored episodes.

    python experiments/alfworld_take.py runs/<evaluation>/eval_episodes/eval \
        runs/<evaluation>/eval_episodes/train

Reads the chunks of evaluation episodes that `experiments/evaluate.py` keeps
(`<workdir>/eval_episodes/<split>/p*_c*.json`, proxmo_jax/training/eval_files.py) and prints, per
directory, one JSON line: over the steps whose observation shows the task's object (its name and
a number after "you see", a receptacle's contents included) while the agent's hands are empty,
how many there are, how many took that object (`take <object> ...`), and the first words of the
actions taken there. Every ALFWorld task begins by picking up its object (the `look` tasks too,
before the lamp), so a policy that walks past it wins nothing; nothing is run, so this costs
seconds where an evaluation costs an hour.

The task's object comes from the goal sentence of the first observation ("Your task is to: put a
clean plate in microwave." -> plate), by the goal templates of ALFWorld's six task types
(docs/environments.md); a goal of another form is an error naming it. The hands are empty from
the start, full after "You pick up ...", empty again after "You put ..." or "You move ...".
"""

from __future__ import annotations

import argparse
import collections
import json
import re

from environments.alfworld.prompts import task_from_observation
from proxmo_jax.training import eval_files  # no JAX

# The object slot of the task sentence's two templates for each of the six task types (ALFRED's
# goal library, as the alfworld package ships it; docs/environments.md).
_GOALS = tuple(re.compile("^" + t.replace("{obj}", r"(\w+)").replace("{recep}", r"\w+")
                          .replace("{toggle}", r"\w+")) for t in (
    "put a {obj} in {recep}", "put some {obj} on {recep}",             # pick and place
    "put a clean {obj} in {recep}", "clean some {obj} and put it in {recep}",
    "put a hot {obj} in {recep}", "heat some {obj} and put it in {recep}",
    "put a cool {obj} in {recep}", "cool some {obj} and put it in {recep}",
    "put two {obj} in {recep}", "find two {obj} and put them in {recep}",
    "look at {obj} under the {toggle}", "examine the {obj} with the {toggle}"))


def task_object(first_observation: str) -> str:
  """The object name of the goal sentence in an episode's first observation."""
  goal = task_from_observation(first_observation).rstrip(".")
  for pattern in _GOALS:
    found = pattern.search(goal)
    if found:
      return found.group(1)
  raise ValueError(f"no ALFWorld goal template matches {goal!r} (the first observation's "
                   "'Your task is to: ...'); add its form to experiments/alfworld_take.py.")


def shows(observation: str, obj: str) -> bool:
  """The observation lists `obj` (e.g. "a plate 1") after "you see"."""
  i = observation.lower().find("you see")
  return i >= 0 and re.search(rf"\ban? {re.escape(obj)} \d", observation[i:]) is not None


def take_counts(episodes) -> dict:
  """{"episodes", "states", "took", "verbs"} over stored episode records (eval_store's JSON)."""
  states = took = 0
  verbs = collections.Counter()
  for e in episodes:
    obj = task_object(e["steps"][0]["observation"])
    holding = False
    for step in e["steps"]:  # a step's observation is the one its action answered
      o, action = step["observation"], step["action"]
      if o.startswith("You pick up"):
        holding = True
      elif o.startswith(("You put", "You move")):
        holding = False
      if not holding and shows(o, obj):
        states += 1
        verbs[action.split(" ", 1)[0] if action else "(none)"] += 1
        took += action.startswith(f"take {obj} ")
  return {"episodes": len(episodes), "states": states, "took": took,
          "verbs": dict(verbs.most_common())}


def load_episodes(directory: str) -> list:
  try:
    return eval_files.episode_records(directory)
  except FileNotFoundError as err:
    raise SystemExit(str(err)) from err


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("directories", nargs="+", help="<workdir>/eval_episodes/<split> folders")
  args = parser.parse_args(argv)
  for d in args.directories:
    print(json.dumps({"directory": d, **take_counts(load_episodes(d))}), flush=True)


if __name__ == "__main__":
  main()
