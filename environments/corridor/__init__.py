"""Corridor: a procedural multi-turn text environment with exact state values.

Registered as "corridor"; `spec.make(env_config)` builds its `EnvSpec`
(docs/environments.md#corridor).
"""

from environments import registry as _registry
from environments.corridor import spec as _spec

_registry.register("corridor", _spec.make, _spec.validate)
