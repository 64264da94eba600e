"""Watching a function from a test: `tap` wraps it to hand each call's result (and arguments) to
a callback, e.g. to keep the episodes a rollout returned or the first update's metrics."""


def tap(fn, on_call):
  """`fn` that, after each call, runs on_call(result, *args, **kwargs); returns fn's result."""

  def wrapped(*args, **kwargs):
    result = fn(*args, **kwargs)
    on_call(result, *args, **kwargs)
    return result
  return wrapped
