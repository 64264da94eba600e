"""ALFWorld: household tasks on the real TextWorld engine, games generated offline.

Registered as "alfworld"; `spec.make(env_config)` builds its `EnvSpec`.
"""

from environments import registry as _registry
from environments.alfworld import spec as _spec

_registry.register("alfworld", _spec.make, _spec.validate)
