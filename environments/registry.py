"""Environments found by name.

    spec = registry.make(config.env)         # config.env.name -> the package's make()
    registry.validate(config.env)            # its config checks, before anything expensive

An environment registers `make(env_config) -> EnvSpec` and `validate(env_config) -> None` under
its name with `register`. The packages shipped in `environments/` register themselves when
imported, and `get` imports `environments.<name>` on first use, so the library never imports a
concrete environment; a user's environment registers from its own module (or a test file).
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import Callable, Optional

from environments.interface import ConfigError, EnvSpec

BUILTIN = ("alfworld", "webshop", "corridor")


@dataclasses.dataclass(frozen=True)
class Entry:
  make: Callable[..., EnvSpec]
  validate: Callable[..., None]


_REGISTRY: dict[str, Entry] = {}


def register(name: str, make: Callable[..., EnvSpec],
             validate: Optional[Callable[..., None]] = None) -> None:
  """Registers (or replaces) environment `name`."""
  _REGISTRY[name] = Entry(make=make, validate=validate or (lambda env_config: None))


def names() -> list[str]:
  return sorted(set(_REGISTRY) | set(BUILTIN))


def get(name: str) -> Entry:
  if name not in _REGISTRY and name in BUILTIN:
    importlib.import_module(f"environments.{name}")
  if name not in _REGISTRY:
    raise ConfigError(f"config.env.name={name!r} is not a registered environment; use one of "
                      f"{names()} or register yours with environments.registry.register.")
  return _REGISTRY[name]


def validate(env_config) -> None:
  get(env_config.name).validate(env_config)


def make(env_config) -> EnvSpec:
  entry = get(env_config.name)
  entry.validate(env_config)
  return entry.make(env_config)
