"""Shape buckets: variable sizes padded up to a few fixed shapes, so jitted code compiles once
per bucket instead of once per size.

    round_up(50, 64) = 64                   a multiple (token lengths, vocabulary rows)
    geometric(50)    = 64                   a sqrt(2) ladder from 8, rounded to 8 (batch rows)
    power_of_two(300, minimum=128) = 512    (feature widths)
    from_ladder(50, (32, 64, 128)) = 64     an explicit ladder (sampler prompt / batch sizes)

Each keeps the number of distinct shapes O(log n); the geometric ladder wastes < ~41 %.
"""

from __future__ import annotations

import math
from typing import Sequence


def round_up(n: int, multiple: int) -> int:
  """Smallest multiple of `multiple` >= max(n, 1)."""
  return int(math.ceil(max(n, 1) / multiple) * multiple)


def geometric(n: int, minimum: int = 8, granularity: float = 2.0 ** 0.5) -> int:
  """Smallest value >= n of the ladder minimum, then ceil(prev * granularity / 8) * 8, ..."""
  size = minimum
  while size < n:
    size = int(math.ceil(size * granularity / 8.0) * 8)
  return size


def power_of_two(n: int, minimum: int = 1) -> int:
  """The next power of two >= n, at least `minimum` (minimum * 2^k)."""
  size = minimum
  while size < n:
    size *= 2
  return size


def from_ladder(n: int, ladder: Sequence[int]) -> int:
  """The first entry of the ascending `ladder` >= n; an error names the ladder when none is."""
  for b in ladder:
    if n <= b:
      return b
  raise ValueError(f"size {n} exceeds the largest bucket {ladder[-1]}; raise the buckets "
                   "(or shorten the input).")
