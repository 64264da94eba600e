"""Errors that name the bad input and its fix."""


class ConfigError(ValueError):
  """A config field has a value that cannot work; the message names the field and the fix."""
