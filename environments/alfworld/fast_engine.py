"""ALFWorld at engine speed: games loaded once per process, snapshot resets, cached transitions.

The plain engine (`engine.make_textworld_env`) translates the PDDL problem on every reset and, on
every step, re-derives the text of every applicable command through TextWorld's grammar. Both are
deterministic functions of the game and of the state, so `FastGame` computes each of them once:

* **Load** (once per process and game, `GameCache`): the PDDL problem is translated once (without
  the planner's second, optimised translation, which only replanning needs) into a private copy
  of Fast Downward's library; the entities are named by ALFWorld's Demangler, as AlfredDemangler
  does.
* **Reset**: the initial state node and the intro text are built at load; a reset is a pointer
  to them (no translation, no planning, no derivation).
* **States**: a `StateNode` holds what the plain engine computes for a state: the sorted
  admissible commands, the operator each command applies (the first applicable operator that
  derives to it, as TextWorld's `list.index` picks) and `won`. Nodes are interned by an exact
  key (below), so a state that recurs (within a group of rollouts of the same game, or in a
  later episode) costs a dictionary lookup.
* **Transitions**: (node, command) -> (feedback text, next node) is cached the same way. An
  unknown command answers "Nothing happens." and stays in the node, as the plain engine does.
* **Misses** run the engine itself: the live engine is moved to the node (its facts restored
  and Fast Downward's current state set to the node's registered state id), the operator is
  applied as `PddlState.apply` does, and the feedback is derived with TextWorld's grammar
  (`grammar.derive`, parses memoized). The text of a command whose template only queries
  predicates that no action changes is derived once per binding of the placeholders it names
  (e.g. once per receptacle for every "go to" operator, whatever the start location).

Exact state key: `(fd_state_id, fact_bits)`. `fact_bits` is a Python int with bit i set iff the
game's i-th distinct fact (a `Proposition`: name and typed arguments, numbered on first sight and
never renumbered) is in the Python state, including the `not_...` facts that TextWorld's
`PddlState.apply` adds on delete effects, which the grammar reads (e.g. `not_inreceptacle`).
Equal keys therefore mean equal fact sets, which is everything the grammar and the command
derivation read. `fd_state_id` is Fast Downward's state registry id, which interns states (equal
ids iff equal planner states), so equal keys also mean equal applicable operators and goal
test. No hashing is involved in equality: dictionary look-ups compare the keys themselves.

Memory: `GameCache` keeps at most `max_games` (16) loaded games per
process, least recently used dropped; a dropped game lives on while an environment still plays
it, then its planner library goes back to a free list for the next load. A loaded kitchen game
takes about 8 MB (planner library and translated task). Its tables hold at most `max_entries`
(10000) nodes + transitions, about 1.7 KB per node and transition pair measured in a kitchen
(each node comes with the transition that found it), so under 10 MB; past that they are cleared (the reset node stays) and refill from the states
being visited. Fast Downward's state registry, which only grows (about 200 B a state), is
bounded too: after `max_states` (100000) states created the game counts as worn out and the
cache loads it afresh. So a game takes at most about 8 + 10 + 20 = 38 MB and a worker at most
16 such games plus the games its environments still play; in practice far less, since only
states never seen before add entries (a group of 8 x 50 steps adds at most 800) and a game
reaches the bounds only after hundreds of group rollouts in the same worker.
"""

from __future__ import annotations

import bisect
import collections
import json
import os
import re
import weakref
from typing import Optional

import fast_downward
import textworld.logic
from alfworld.agents.utils.misc import Demangler
from textworld.envs.pddl import logic as pddl_logic
from textworld.generator.game import EntityInfo
from textworld.logic import Proposition, Variable

from environments.alfworld import grammar as grammar_lib

NOTHING_HAPPENS = "Nothing happens."
DEFAULT_MAX_GAMES = 16
DEFAULT_MAX_ENTRIES = 10000
DEFAULT_MAX_STATES = 100000
_PREDICATE = re.compile(r"([A-Za-z_][\w-]*)\s*\(")
_QUERY_PLACEHOLDER = re.compile(r"([A-Za-z_]\w*)\s*:\s*[A-Za-z_]")
_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")
# Fast Downward libraries of games no longer used, for the next load: each `load_lib` maps a new
# copy of the library (a few MB that `dlclose` cannot safely give back: it crashes at exit), while
# `load_sas` re-initialises a used one, as TextWorld's own resets do.
_LIBRARIES: list = []


class _StepState(pddl_logic.PddlState):
  """TextWorld 1.7.0's `PddlState` without the planner's translation (`sas_replan`).

  The constructor is TextWorld's minus the second, optimised `pddl2sas` call and its
  `load_sas_replan`, which only `replan` uses; this state never replans.
  """

  # pylint: disable-next=super-init-not-called
  def __init__(self, downward_lib, pddl_problem: str, logic):
    self._facts = collections.defaultdict(set)
    self._vars_by_name = {}
    self._vars_by_type = collections.defaultdict(set)
    self._var_counts = collections.Counter()
    self._logic = logic
    self.downward_lib = downward_lib
    self.pddl_problem = pddl_problem
    self.task, sas = fast_downward.pddl2sas(logic.domain, pddl_problem)
    self._actions = {a.name: a for a in self.task.actions}
    for type_ in self.task.types:
      try:
        self._logic.types.add(textworld.logic.Type(type_.name, type_.supertype_names))
      except ValueError:
        pass
    self.downward_lib.load_sas(sas.encode("utf-8"))
    self.name2type = {o.name: o.type_name for o in self.task.objects}
    self.add_facts(filter(None, (self._init_fact(atom) for atom in self.task.init)))
    atoms = (pddl_logic.Atom * self.downward_lib.get_state_size())()
    self.downward_lib.get_state(atoms)
    facts = (atom.get_fact(self.name2type) for atom in atoms)
    self.add_facts(fact for fact in facts if not fact.is_negation)

  def _init_fact(self, atom) -> Optional[Proposition]:
    if isinstance(atom, fast_downward.translate.pddl.conditions.Atom):
      if atom.predicate == "=":
        return None
      return Proposition(atom.predicate, [Variable(a, self.name2type[a]) for a in atom.args])
    if isinstance(atom, fast_downward.translate.pddl.f_expression.Assign):
      if atom.fluent.symbol == "total-cost":
        return None
      name = f"{atom.expression.value}"
      if str.isdigit(name):  # distance relations are discarded
        return None
      return Proposition(name, [Variable(a, self.name2type[a]) for a in atom.fluent.args])
    return None


class _Op:
  """An applicable operator as the plain engine applies it: Fast Downward id, number of effect
  atoms, and the TextWorld action (mapping, feedback rule) its feedback is derived from."""

  __slots__ = ("id", "nb_effects", "action")

  def __init__(self, op_id: int, nb_effects: int, action):
    self.id = op_id
    self.nb_effects = nb_effects
    self.action = action


class StateNode:
  """One game state: admissible commands (sorted), the operator of each, and `won`."""

  __slots__ = ("uid", "key", "fd_state", "won", "commands", "ops")

  def __init__(self, uid: int, key: tuple, won: bool, commands: tuple, ops: tuple):
    self.uid = uid
    self.key = key
    self.fd_state = key[0]
    self.won = won
    self.commands = commands
    self.ops = ops


def _entity_infos(state: pddl_logic.PddlState) -> dict:
  """`PddlEnv._get_entity_infos` followed by `AlfredDemangler.load`'s renaming."""
  infos = {v.name: EntityInfo(v.name, v.type) for fact in state.facts for v in fact.arguments}
  for info in infos.values():
    info.name = info.id
    info.definite = "the"
    info.indefinite = "a"
  demangler = Demangler(game_infos=infos, shuffle=False)
  for info in infos.values():
    info.name = demangler.demangle_alfred_name(info.id)
  return infos


def _dynamic_predicates(task) -> frozenset:
  """Predicates whose facts an action can change (effects), and derived ones (axioms)."""
  names = {eff.literal.predicate.lower() for action in task.actions for eff in action.effects}
  names |= {axiom.name.lower() for axiom in task.axioms}
  return frozenset(names)


class FastGame:
  """One loaded ALFWorld game with its state and transition caches (see module docstring).

  Not thread-safe; shared by the environments of one process. `reset()` -> (intro, node);
  `step(node, command)` -> (feedback, next node).
  """

  def __init__(self, path: str, max_entries: int = DEFAULT_MAX_ENTRIES,
               max_states: int = DEFAULT_MAX_STATES):
    with open(path) as f:
      data = json.load(f)
    self.path = path
    self.max_entries = max_entries
    self.max_states = max_states
    self._lib = _LIBRARIES.pop() if _LIBRARIES else fast_downward.load_lib()
    self._finalizer = weakref.finalize(self, _LIBRARIES.append, self._lib)
    self._logic = pddl_logic.GameLogic(domain=data["pddl_domain"], grammar=data["grammar"])
    self._state = _StepState(self._lib, data["pddl_problem"], self._logic)
    self._infos = _entity_infos(self._state)
    self._names = {k: info.name for k, info in self._infos.items()}
    self._dynamic = _dynamic_predicates(self._state.task)
    self._template_reads = {}  # action name -> placeholder names its command text reads
    self._command_text = {}  # _command_key -> command text
    self._fact_bit = {}  # Proposition -> bit number
    self._bit_fact = []  # bit number -> Proposition
    self._ops = {}  # (operator id, effect count) -> _Op
    self._nodes = {}  # key -> StateNode
    self._edges = {}  # (node uid, command) -> (feedback, StateNode)
    self._uids = 0
    self.stats = collections.Counter()
    self.intro = self._derive("#intro#", {}, {})
    self._at = None
    self.root = self._here()
    self._at = self.root

  # -- public -------------------------------------------------------------------------------

  def reset(self) -> tuple[str, StateNode]:
    """The intro text and the initial state (a snapshot built at load)."""
    self.stats["resets"] += 1
    return self.intro, self.root

  def step(self, node: StateNode, command: str) -> tuple[str, StateNode]:
    """The plain engine's step from `node`: (feedback, next node)."""
    command = command.strip()
    i = bisect.bisect_left(node.commands, command)
    if i == len(node.commands) or node.commands[i] != command:
      self.stats["invalid"] += 1
      return NOTHING_HAPPENS, node
    edge = self._edges.get((node.uid, command))
    if edge is not None:
      self.stats["hits"] += 1
      return edge
    self.stats["misses"] += 1
    edge = self._apply(node, node.ops[i])
    self._edges[(node.uid, command)] = edge
    self._bound()
    return edge

  @property
  def num_entries(self) -> int:
    return len(self._nodes) + len(self._edges)

  @property
  def worn_out(self) -> bool:
    """Whether the planner's state registry has grown past `max_states` (reload the game)."""
    return self._uids > self.max_states

  def close(self) -> None:
    """Drops the caches; the planner library goes back to the process's free list when the
    game is no longer referenced."""
    self._nodes.clear()
    self._edges.clear()

  # -- engine -------------------------------------------------------------------------------

  def _context(self, variables: dict, mapping: dict) -> dict:
    return {"state": self._state, "facts": list(self._state.facts), "variables": variables,
            "mapping": mapping, "entity_infos": self._infos}

  def _derive(self, start: str, variables: dict, mapping: dict) -> str:
    return grammar_lib.derive(self._logic.grammar, start, self._context(variables, mapping))

  def _variables(self, action) -> dict:
    return {ph.name: self._infos[var.name] for ph, var in action.mapping.items()}

  def _goto(self, node: StateNode) -> None:
    """Puts the live engine in `node`: its facts, and Fast Downward's state id."""
    if self._at is node:
      return
    facts = collections.defaultdict(set)
    bits = bin(node.key[1])[:1:-1]  # bit i at position i
    i = bits.find("1")
    while i >= 0:
      fact = self._bit_fact[i]
      facts[fact.signature].add(fact)
      i = bits.find("1", i + 1)
    self._state._facts = facts  # pylint: disable=protected-access
    self._lib.set_state_id(node.fd_state)
    self._at = node

  def _apply(self, node: StateNode, op: _Op) -> tuple[str, StateNode]:
    """TextWorld's `PddlEnv.step` for an admissible command, from `node`."""
    self._goto(node)
    self._at = None
    effects = (pddl_logic.Atom * op.nb_effects)()
    self._lib.apply_operator(op.id, effects)
    for effect in effects:  # `PddlState.apply`
      prop = effect.get_fact(self._state.name2type)
      self._state.remove_fact(prop.negate())
      self._state.add_fact(prop)
    feedback = self._derive(op.action.feedback_rule, self._variables(op.action),
                            op.action.mapping)
    nxt = self._here()
    self._at = nxt
    return feedback, nxt

  def _key(self) -> tuple:
    index = self._fact_bit
    buf = bytearray(len(self._bit_fact) // 8 + 64)
    for fact in self._state.facts:
      bit = index.get(fact)
      if bit is None:
        bit = index[fact] = len(self._bit_fact)
        self._bit_fact.append(fact)
        if bit >> 3 >= len(buf):
          buf.extend(bytes(len(buf)))
      buf[bit >> 3] |= 1 << (bit & 7)
    return self._lib.get_state_id(), int.from_bytes(buf, "little")

  def _here(self) -> StateNode:
    """The node of the live engine's state (interned; built on first sight)."""
    key = self._key()
    node = self._nodes.get(key)
    if node is None:
      node = self._nodes[key] = self._new_node(key)
    return node

  def _new_node(self, key: tuple) -> StateNode:
    """`PddlEnv._gather_infos` for the live state: commands, their operators, `won`."""
    actions = self._state.all_applicable_actions()
    operators = self._state._operators  # pylint: disable=protected-access
    first = {}
    facts = None
    for action in actions:
      text_key = self._command_key(action)
      text = None if text_key is None else self._command_text.get(text_key)
      if text is None:
        if facts is None:
          facts = list(self._state.facts)
        context = {"state": self._state, "facts": facts, "variables": self._variables(action),
                   "mapping": action.mapping, "entity_infos": self._infos}
        template = grammar_lib.derive(self._logic.grammar, action.command_template, context)
        text = template.format(**self._names)
        if text_key is not None:
          self._command_text[text_key] = text
      if text not in first:
        nb = operators[action.id].nb_effect_atoms
        op = self._ops.get((action.id, nb))
        if op is None:
          op = self._ops[(action.id, nb)] = _Op(action.id, nb, action)
        first[text] = op
    commands = tuple(sorted(first))
    self._uids += 1
    return StateNode(self._uids, key, bool(self._lib.check_goal()), commands,
                     tuple(first[c] for c in commands))

  def _command_key(self, action) -> Optional[tuple]:
    """What the action's command text is a function of, or None if it may read the state.

    A template that expands no rule ("#") and queries no predicate an action can change reads
    only static facts, the entity names and the bindings of the placeholders it names; e.g.
    "go to [{r.name | receptacleatlocation(r:receptacle, lend:location)}]" reads r and lend,
    not the start location, so every "go to" operator to r shares one text. If a query binds a
    placeholder the action does not (it must then differ from every bound variable, named or
    not), the whole mapping counts.
    """
    if action.name not in self._template_reads:
      self._template_reads[action.name] = self._reads(action)
    reads = self._template_reads[action.name]
    if reads is None:
      return None
    return (action.name,) + tuple(sorted((ph.name, var.name) for ph, var in action.mapping.items()
                                         if ph.name in reads))

  def _reads(self, action) -> Optional[frozenset]:
    template = self._logic.actions[action.name].template
    predicates = {p.lower() for p in _PREDICATE.findall(template)}
    predicates |= {p[len("not_"):] for p in predicates if p.startswith("not_")}
    if "#" in template or predicates & self._dynamic:
      return None
    params = frozenset(ph.name for ph in action.mapping)
    if not set(_QUERY_PLACEHOLDER.findall(template)) <= params:
      return params
    return frozenset(_IDENTIFIER.findall(template)) & params

  def _bound(self) -> None:
    if self.num_entries > self.max_entries:
      self.stats["clears"] += 1
      self._edges.clear()
      self._nodes.clear()
      self._nodes[self.root.key] = self.root


class GameCache:
  """The loaded games of one process, least recently used dropped past `max_games`."""

  def __init__(self, max_games: int = DEFAULT_MAX_GAMES,
               max_entries: int = DEFAULT_MAX_ENTRIES, max_states: int = DEFAULT_MAX_STATES):
    if min(max_games, max_entries, max_states) < 1:
      raise ValueError(f"GameCache needs max_games, max_entries and max_states >= 1 (got "
                       f"{max_games}, {max_entries}, {max_states}).")
    self.max_games = max_games
    self.max_entries = max_entries
    self.max_states = max_states
    self._games: collections.OrderedDict = collections.OrderedDict()
    self.loads = 0

  def get(self, path: str) -> FastGame:
    """The loaded game of `path` (loaded now if new, or if the file changed since)."""
    st = os.stat(path)
    key = (os.path.abspath(path), st.st_mtime_ns, st.st_size)
    game = self._games.get(key)
    if game is None or game.worn_out:
      game = FastGame(path, self.max_entries, self.max_states)
      self.loads += 1
      self._games[key] = game
      while len(self._games) > self.max_games:
        self._games.popitem(last=False)  # its library is released once no env holds the game
    self._games.move_to_end(key)
    return game

  def clear(self) -> None:
    self._games.clear()

  def __len__(self) -> int:
    return len(self._games)


_PROCESS_CACHE: Optional[GameCache] = None


def process_cache() -> GameCache:
  """The games cache shared by every `AlfworldEnv` of this process."""
  global _PROCESS_CACHE  # pylint: disable=global-statement
  if _PROCESS_CACHE is None:
    _PROCESS_CACHE = GameCache()
  return _PROCESS_CACHE
