"""proxmo_jax.training.run_environment: each call appends what the process runs on (library
versions, CPU, devices, XLA_FLAGS) to <workdir>/environment.jsonl."""
import json
import os
import platform

import jax
import numpy as np

from proxmo_jax.training import run_environment


def test_each_record_is_one_more_line_with_the_versions_cpu_and_devices(tmp_path, monkeypatch):
  monkeypatch.setenv("XLA_FLAGS", "--xla_force_host_platform_device_count=1")
  run_environment.record(str(tmp_path / "run"))
  run_environment.record(str(tmp_path / "run"))
  lines = (tmp_path / "run" / "environment.jsonl").read_text().splitlines()
  assert len(lines) == 2
  e = json.loads(lines[-1])
  assert e["packages"]["jax"] == jax.__version__ and e["packages"]["numpy"] == np.__version__
  assert set(e["packages"]) == set(run_environment.PACKAGES)
  assert e["python"] == platform.python_version()
  assert e["xla_flags"] == "--xla_force_host_platform_device_count=1"
  assert e["device_count"] == jax.device_count() and e["devices"]
  assert set(e["cpu"]["features"]) <= set(run_environment.CPU_FEATURES)
  assert e["cpu"]["model"] and e["cpu"]["cpus"] >= 1
  assert e["memory_gib"] > 0  # this suite runs on Linux, whose sysconf gives the page count


def test_the_cpu_is_read_from_the_first_core_of_proc_cpuinfo(monkeypatch, tmp_path):
  """The first core's model name and flags; only the listed features are kept."""
  info = tmp_path / "cpuinfo"
  info.write_text("processor\t: 0\nmodel name\t: Example CPU 9000\nflags\t\t: fpu avx2 fma "
                  "avx512f sse2\n\nprocessor\t: 1\nmodel name\t: Other\nflags\t\t: sve\n")
  real_open = open

  def fake_open(path, *args, **kwargs):
    return real_open(info if path == "/proc/cpuinfo" else path, *args, **kwargs)
  monkeypatch.setattr("builtins.open", fake_open)
  got = run_environment.cpu()
  assert got["model"] == "Example CPU 9000"
  assert got["features"] == ["avx2", "fma", "avx512f"]
  assert got["cpus"] == (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                         else os.cpu_count())
