"""WebShop: a text-mode shop with BM25 search and the original reward, over an offline catalog.

Registered as "webshop"; `spec.make(env_config)` builds its `EnvSpec`.
"""

from environments import registry as _registry
from environments.webshop import spec as _spec

_registry.register("webshop", _spec.make, _spec.validate)
