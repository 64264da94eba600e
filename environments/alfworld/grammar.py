"""TextWorld's context-sensitive grammar derivation with its parses memoized.

TextWorld 1.7.0 (`textworld.envs.pddl.textgen.ContextSensitiveGrammar.derive`) parses the start
string of every derivation, and every rule condition and query it meets, with a TatSu parser,
and deep-copies every symbol and context it expands (entity infos included); that is most of an
ALFWorld step's cost. Here:

* each distinct text is parsed once (`functools.lru_cache`): a parse depends only on its text;
* symbols are cloned structurally (`_clone`) and contexts copied one level deep
  (`_copy_context`): a derivation reassigns a symbol's context and updates a context's
  `variables` / `mapping` dicts, but never mutates the symbols' strings, the entity infos or the
  mapped variables, so sharing those is unobservable.

The derivation itself is TextWorld's, step by step (first applicable production, depth-first
expansion, the same queries over the sorted facts), so the text produced is identical;
tests/test_alfworld_fast.py compares it with the plain engine step by step.
"""

from __future__ import annotations

import copy
import functools

from textworld.envs.pddl import textgen
from textworld.logic import Rule

_CACHE_SIZE = 4096  # distinct texts of one grammar: a few hundred


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _symbols(text: str) -> tuple:
  # pylint: disable-next=protected-access
  return tuple(textgen._parse_and_convert(text, rule_name="symbols"))


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _query_rule(expression: str) -> Rule:
  return Rule.parse_conjunctive_query(expression)


def _copy_context(context: dict) -> dict:
  """`textgen.copy_context` with the `variables` and `mapping` dicts copied, not their values."""
  return {"state": context["state"], "facts": context["facts"],
          "variables": dict(context["variables"]), "mapping": dict(context["mapping"]),
          "entity_infos": context["entity_infos"]}


def _clone(symbol):
  """An independent copy of a symbol tree (TextWorld deep-copies it)."""
  new = copy.copy(symbol)
  if isinstance(symbol, textgen.ConditionalSymbol):
    new.expression = _clone(symbol.expression)
  elif isinstance(symbol, textgen.ListSymbol):
    new.symbol = _clone(symbol.symbol)
  return new


def _has_assignment(state, condition: str, mapping) -> bool:
  return next(iter(state.all_assignments(_query_rule(condition), mapping)), None) is not None


def _replace(grammar: textgen.ContextSensitiveGrammar, start) -> list:
  """`ContextSensitiveGrammar.replace`: the first production whose condition holds."""
  rules = grammar._rules.get(str(start))  # pylint: disable=protected-access
  if not rules:
    raise textgen.CSGUnknownSymbolError(start)
  context = start.context
  rules = [r for r in rules
           if not r.condition or _has_assignment(context["state"], r.condition, context["mapping"])]
  symbols = [_clone(symbol) for symbol in rules[0].rhs]
  for symbol in symbols:
    symbol.context = _copy_context(context)
  return symbols


def _query(expression: str, context) -> list:
  """`textgen.query`: one context per assignment of the query in the state."""
  contexts = []
  for mapping in context["state"].all_assignments(_query_rule(expression), context["mapping"]):
    context_ = _copy_context(context)
    context_["variables"].update({ph.name: context_["entity_infos"][var.name]
                                  for ph, var in mapping.items()})
    context_["mapping"].update(mapping)
    contexts.append(context_)
  return contexts


def _conditional(symbol) -> list:
  """`ConditionalSymbol.derive`."""
  if len(symbol.context) == 0:
    raise ValueError("Empty context")
  context = _copy_context(symbol.context)
  contexts = _query(symbol.given, context) if symbol.given else [context]
  out = []
  for c in contexts:  # `Symbol.copy`
    expression = _clone(symbol.expression)
    expression.context = _copy_context(c)
    out.append(expression)
  return out


def _expand(symbol) -> list:
  """One expansion of a conditional, eval or list symbol."""
  if isinstance(symbol, textgen.ConditionalSymbol):
    return _conditional(symbol)
  if isinstance(symbol, textgen.ListSymbol):  # `ListSymbol.derive`
    symbol.symbol.context = symbol.context
    return textgen.display_list(_expand(symbol.symbol), symbol.context)
  return symbol.derive()


def derive(grammar: textgen.ContextSensitiveGrammar, start: str, context: dict) -> str:
  """The text `grammar.derive(start, context)` produces, without re-parsing known texts."""
  derivation = [_clone(symbol) for symbol in _symbols(start)][::-1]
  for symbol in derivation:
    symbol.context = _copy_context(context)
  derived = []
  while derivation:
    symbol = derivation.pop()
    if isinstance(symbol, textgen.TerminalSymbol):
      derived.append(symbol)
    elif isinstance(symbol, textgen.NonterminalSymbol):
      derivation += _replace(grammar, symbol)[::-1]
    elif isinstance(symbol, (textgen.ConditionalSymbol, textgen.EvalSymbol, textgen.ListSymbol)):
      derivation += _expand(symbol)[::-1]
    else:
      raise NotImplementedError(f"Unknown symbol: {type(symbol)}")
  return "".join(map(str, derived))
