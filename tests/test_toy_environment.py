"""A new environment registered from this file alone trains and evaluates through the public
API (no change under proxmo_jax/ or environments/); the multi-host evaluation of a split whose
task types the other split lacks."""

import json
import math

import pytest

from configs import common
from environments import registry
from environments.interface import EnvSpec, EvalTable, StepResult, Task, TextEnv
from environments.projection import ProtocolAgent
from proxmo_jax.parallel import multihost
from proxmo_jax.training import eval_store, train
from tests import fixed_advantages, taps


class LockEnv(TextEnv):
  """Say the task's code word to open the lock (reward 10); anything else costs a step."""

  def reset(self, task, seed):
    self.word = task.payload
    return StepResult(f"a lock asks for the word {self.word}",
                      admissible_actions=["say red", "say blue", "wait"],
                      info={"task_type": task.task_type})

  def step(self, action):
    won = action == f"say {self.word}"
    return StepResult("the lock opens" if won else "nothing happens", reward=10.0 * won,
                      done=won, won=won, admissible_actions=["say red", "say blue", "wait"])

  def expert_plan(self):
    return [f"say {self.word}"]


class LockAgent(ProtocolAgent):

  def build_prompt(self, task_context, history, observation, admissible):
    return f"{task_context}\n{observation}\nactions: {', '.join(admissible)}\n"


def _tasks(words, kind):
  return [Task("lock", f"{kind}-{i}", f"{w}_lock", payload=w) for i, w in enumerate(words)]


def make_lock(env_config) -> EnvSpec:
  # Training has a type ("blue_lock") that the held-out split lacks.
  return EnvSpec(name="lock", train_tasks=_tasks(["red", "blue", "red", "blue"], "train"),
                 eval_tasks=_tasks(["red", "red"], "eval"), env_factory=LockEnv,
                 agent=LockAgent(), in_process=True,
                 eval_table=EvalTable(families=(("Red", "red_lock"), ("Blue", "blue_lock")),
                                      success_column="All", headline="All"))


def validate_lock(env_config):
  if env_config.max_steps > 5:
    raise ValueError("config.env.max_steps: the lock needs at most 5 turns.")


@pytest.fixture(scope="module", autouse=True)
def lock_registered():
  registry.register("lock", make_lock, validate_lock)
  yield
  registry._REGISTRY.pop("lock", None)  # pylint: disable=protected-access


def _config(tmp_path):
  c = common.base_config("lock", "proxmo")
  common.apply_tiny(c)
  common.finish(c, "proxmo", {})
  c.env.max_steps = 3
  c.env.group_size = 2
  c.env.groups_per_batch = 2
  c.env.num_workers = 0
  c.tokenizer.vocab_size = 300
  c.rollout.max_prompt_tokens = 64
  c.rollout.max_response_tokens = 8
  c.ppo.mini_batch = 8
  c.ppo.micro_batch = 8
  c.iterations = 1
  c.eval.num_tasks = 2
  c.eval.before_train = False
  c.checkpoint.every = 0
  c.sft.steps = 2
  c.sft.batch_size = 2
  return c


def test_registered_toy_environment_trains_and_evaluates(tmp_path, monkeypatch):
  c = _config(tmp_path)
  sft = train.behavior_clone(c, str(tmp_path))
  rows = train.train_and_evaluate(c, str(tmp_path), init_params_dir=sft)
  assert list(rows) == ["final"] and list(rows["final"]) == ["Red", "Blue", "All"]
  assert rows["final"]["Blue"] is None and 0.0 <= rows["final"]["All"] <= 100.0
  metrics = [l for l in (tmp_path / "metrics.jsonl").read_text().splitlines() if "loss" in l]
  assert len(metrics) == 1 and math.isfinite(json.loads(metrics[0])["loss"])
  # The evaluation kept its episodes; the same command again resumes at the last checkpoint
  # (iteration 1, the end) and reads the final evaluation back instead of playing it.
  assert (tmp_path / "eval_episodes" / "iter_1" / "eval" / "p0_c0.json").exists()
  # The table's "All" is the stored episodes' success rate.
  from proxmo_jax.training import eval_files  # pylint: disable=import-outside-toplevel
  records = eval_files.episode_records(str(tmp_path / "eval_episodes" / "iter_1" / "eval"))
  assert len(records) == c.eval.num_tasks
  assert rows["final"]["All"] == pytest.approx(
      100.0 * sum(bool(e["won"]) for e in records) / len(records))
  loaded, load = [], eval_store.EvalStore.load

  def counted_load(store, split, start, *args):
    found = load(store, split, start, *args)
    loaded.extend([start] if found else [])
    return found

  monkeypatch.setattr(eval_store.EvalStore, "load", counted_load)
  again = train.train_and_evaluate(c, str(tmp_path), init_params_dir=sft)
  assert again == rows and loaded == [0]
  # Behaviour cloning and both built runs each recorded what they ran on.
  import jax  # pylint: disable=import-outside-toplevel
  lines = [json.loads(l) for l in (tmp_path / "environment.jsonl").read_text().splitlines()]
  assert len(lines) == 3 and all(e["packages"]["jax"] == jax.__version__ for e in lines)
  # The decode's CPU compile options are a speed setting, not part of the stored episodes' key;
  # the config's switch reaches the policy's sampler.
  from proxmo_jax.models import sampler  # pylint: disable=import-outside-toplevel
  made = []
  monkeypatch.setattr(sampler.Sampler, "__init__", taps.tap(
      sampler.Sampler.__init__, lambda r, self, *a, **k: made.append(self.cpu_decode_options)))
  c.rollout.cpu_decode_options = False
  loaded.clear()
  assert train.train_and_evaluate(c, str(tmp_path), init_params_dir=sft) == rows
  assert loaded == [0] and made == [False]


def _params(directory):
  """The arrays of <directory>/params.npz."""
  import numpy as np  # pylint: disable=import-outside-toplevel
  return np.load(f"{directory}/params.npz")


def _same_params(dir_a, dir_b) -> bool:
  """Whether two params directories hold the same arrays, bit for bit."""
  import numpy as np  # pylint: disable=import-outside-toplevel
  a, b = _params(dir_a), _params(dir_b)
  return set(a) == set(b) and all(np.array_equal(a[k], b[k]) for k in a)


def test_behavior_cloning_continues_from_saved_params(tmp_path):
  """`init_params_dir` starts behaviour cloning from those params, not config.model.init (a
  fresh init under seed 1): with a zero learning rate the continued run returns them unchanged."""
  c = _config(tmp_path)
  first = train.behavior_clone(c, str(tmp_path))
  c.sft.learning_rate = 0.0
  c.seed = 1
  more = train.behavior_clone(c, str(tmp_path), str(tmp_path / "more"), init_params_dir=first)
  assert _same_params(first, more)
  assert json.loads((tmp_path / "more" / "bc_log.json").read_text())["init_params"] == first


def test_behavior_cloning_stopped_part_way_goes_on_to_the_straight_runs_end(tmp_path):
  """sft.stop_after=k writes the params at step k to <workdir>/sft_step<k> and keeps the state;
  the same config without it goes on from there to sft/, equal to a run never stopped."""
  import numpy as np  # pylint: disable=import-outside-toplevel
  c = _config(tmp_path)
  c.sft.steps, c.sft.checkpoint_every = 3, 2
  straight = train.behavior_clone(c, str(tmp_path / "straight"))
  c.sft.stop_after = 1
  part = train.behavior_clone(c, str(tmp_path / "run"))
  assert part == str(tmp_path / "run" / "sft_step1") and (tmp_path / "run" / "bc_state").exists()
  assert json.loads((tmp_path / "run" / "sft_step1" / "bc_log.json").read_text())[
      "stopped_after"] == 1
  c.sft.stop_after = 0
  end = train.behavior_clone(c, str(tmp_path / "run"))
  assert end == str(tmp_path / "run" / "sft") and not (tmp_path / "run" / "bc_state").exists()
  assert _same_params(straight, end)
  a, p = _params(straight), _params(part)
  assert not all(np.array_equal(a[k], p[k]) for k in a)


def _forbid_replay(monkeypatch):
  """From here on, replaying the expert (making demonstrations again) fails the test."""
  from proxmo_jax.training import behavior_cloning  # pylint: disable=import-outside-toplevel

  def replay(*args, **kwargs):
    raise AssertionError("demonstrations replayed")

  monkeypatch.setattr(behavior_cloning, "expert_steps", replay)


def test_behavior_cloning_reads_its_demonstrations_back(tmp_path, monkeypatch):
  """<workdir>/bc_demos.json keeps the expert's steps: a second run with the same settings
  replays no demonstration; one under another seed (another key) makes them again."""
  c = _config(tmp_path)
  train.behavior_clone(c, str(tmp_path))
  stored = json.loads((tmp_path / "bc_demos.json").read_text())
  assert stored["key"]["seed"] == c.seed and stored["pairs"]
  _forbid_replay(monkeypatch)
  train.behavior_clone(c, str(tmp_path), str(tmp_path / "again"))
  c.seed = 1
  with pytest.raises(AssertionError, match="replayed"):
    train.behavior_clone(c, str(tmp_path), str(tmp_path / "other"))


def test_demonstrations_written_alone_are_what_behavior_cloning_trains_on(tmp_path, monkeypatch):
  """train.write_demonstrations (sft.py --demos_only) writes bc_demos.json without training; a
  behaviour cloning with the same config and workdir then replays no demonstration and ends
  with the params of a run that made its own."""
  c = _config(tmp_path)
  own = train.behavior_clone(c, str(tmp_path / "own"))
  path = train.write_demonstrations(c, str(tmp_path / "run"))
  assert path == str(tmp_path / "run" / "bc_demos.json")
  assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["bc_demos.json"]
  assert (json.loads(open(path).read()) ==
          json.loads((tmp_path / "own" / "bc_demos.json").read_text()))
  _forbid_replay(monkeypatch)
  carried = train.behavior_clone(c, str(tmp_path / "run"))
  assert _same_params(own, carried)


def test_multihost_table_of_a_split_with_types_the_other_lacks(tmp_path, monkeypatch):
  """Evaluating the training tasks on 2 hosts gathers rows keyed by the evaluated split's types.

  The type list once came from the held-out tasks, so a type only the training tasks have
  ("blue_lock") raised in the gather."""
  c = _config(tmp_path)
  exp = train.build(c, str(tmp_path))
  try:
    monkeypatch.setattr(multihost, "count", lambda: 2)
    monkeypatch.setattr(multihost, "gather_rows", lambda rows: rows)  # one host's rows
    _, row = exp.evaluator.evaluate(num_tasks=4, split="train")
  finally:
    exp.close()
  assert set(row) == {"Red", "Blue", "All"} and row["Blue"] is not None


@pytest.mark.parametrize("top_layers", [0, 1])
def test_lora_trains_adapters_only_with_sampled_old_logprobs(tmp_path, monkeypatch, top_layers):
  """LoRA: the state holds the adapters (and their optimizer moments) only, the base params
  stay the reference, the sampler gets base + adapters; the sampler's log-probs serve as the
  old log-probs, so the first mini-batch's ratio is 1 up to float32 rounding (clip fraction 0).
  With adapters on the top layer only, the reference log-probs come from the update itself.
  The untrained policy wins nothing, so the advantages are fixed at +-1 by row: a ratio off 1
  would then clip or move the loss."""
  import jax  # pylint: disable=import-outside-toplevel
  import numpy as np  # pylint: disable=import-outside-toplevel
  from proxmo_jax.training import trainer as trainer_lib  # pylint: disable=import-outside-toplevel
  from proxmo_jax.training import update  # pylint: disable=import-outside-toplevel
  monkeypatch.setattr(trainer_lib, "compute_advantages",
                      fixed_advantages.alternating(trainer_lib.compute_advantages))
  first = []  # the first mini-batch's metrics, taken at the rollout's params
  monkeypatch.setattr(update, "update_step", taps.tap(
      update.update_step, lambda r, *a, **k: first or first.append(jax.device_get(r[1]))))
  c = _config(tmp_path)
  c.model.lora.rank = 4
  c.model.lora.targets = "q,v"
  c.model.lora.layers = top_layers
  c.ppo.old_logprobs = "sampled"
  c.optim.learning_rate = 1e-2
  run = train.Run(c, str(tmp_path))
  try:
    t = run.trainer
    base = jax.tree_util.tree_map(np.asarray, t.base)
    assert set(t.state.params) == {"wq", "wv"} and t.use_sampled_logprobs
    n_layers = t.policy.model_cfg.n_layers
    assert n_layers > 1 and t.ref_in_update == (top_layers == 1)
    assert t.state.params["wq"]["a"].shape[0] == (top_layers or n_layers)
    m = t.train_iteration()
  finally:
    run.close()
  assert m["adv/total_nonzero"] > 0 and math.isfinite(m["loss"]) and math.isfinite(m["kl"])
  # The sampler's and the update's log-probs agree to 1e-5 (float32, summed in other orders;
  # test_model's bound), so the ratio exp(logp - old_logp) is within about 1e-5 of 1.
  assert float(first[0]["clip_frac"]) == 0.0
  assert abs(float(first[0]["ratio_max"]) - 1.0) < 1e-5
  assert abs(float(first[0]["ratio_mean"]) - 1.0) < 1e-5
  jax.tree_util.tree_map(np.testing.assert_array_equal, base,
                         jax.tree_util.tree_map(np.asarray, t.base))
  moved = np.abs(np.asarray(t.state.params["wq"]["b"])).max()
  assert moved > 0.0  # B starts at zero; one update moved it
  merged = np.asarray(run.exp.policy.params["layers"]["wq"])
  assert np.abs(merged - base["layers"]["wq"]).max() > 0.0


@pytest.mark.parametrize("old_logprobs", ["sampled", "recompute"])
def test_update_from_the_rollouts_frozen_layers_is_the_recomputed_update(tmp_path, monkeypatch,
                                                                          old_logprobs):
  """ppo.frozen_hidden="rollout" (LoRA on the top layer): the sampler keeps the bottom layer's
  output and the update (and, with ppo.old_logprobs=recompute, the old log-probs' pass) starts
  from it. One iteration gives the episodes, update metrics and adapters of the same run with
  the full forward, to float32 rounding: the kept states agree with the full forward's to
  float32 rounding (test_model), which moves the loss's last digits and, through the
  iteration's Adam steps, the adapters. Without LoRA below the top the option is refused."""
  import jax  # pylint: disable=import-outside-toplevel
  import numpy as np  # pylint: disable=import-outside-toplevel
  from proxmo_jax.errors import ConfigError  # pylint: disable=import-outside-toplevel
  from proxmo_jax.training import trainer as trainer_lib  # pylint: disable=import-outside-toplevel
  from proxmo_jax.training import update  # pylint: disable=import-outside-toplevel
  # No episode of the untrained policy wins, so every advantage would be 0 and only the entropy
  # and KL terms would move the adapters: both runs get the same fixed, nonzero advantages
  # (+-1 by row), so the policy-gradient term goes through the kept states as well.
  monkeypatch.setattr(trainer_lib, "compute_advantages",
                      fixed_advantages.alternating(trainer_lib.compute_advantages))
  seen = []
  monkeypatch.setattr(update, "ppo_epoch", taps.tap(
      update.ppo_epoch, lambda r, state, batch, **kw: seen.append(sorted(batch))))
  out = {}
  for mode in ("recompute", "rollout"):
    c = _config(tmp_path)
    c.model.lora.rank, c.model.lora.targets, c.model.lora.layers = 4, "q,v", 1
    c.ppo.old_logprobs, c.ppo.frozen_hidden = old_logprobs, mode
    c.optim.learning_rate = 1e-2
    run = train.Run(c, str(tmp_path / mode))
    try:
      t = run.trainer
      assert t.keep_layer == (t.policy.model_cfg.n_layers - 1 if mode == "rollout" else None)
      episodes = []
      t.runner.run = taps.tap(t.runner.run, lambda r, *a, **k: episodes.extend(r[0]))
      m = t.train_iteration()
      out[mode] = (m, jax.tree_util.tree_map(np.asarray, t.state.params),
                   [[(s.prompt_ids, s.response_ids, s.frozen_hidden) for s in e.steps]
                    for e in episodes])
    finally:
      run.close()
  assert "frozen_hidden" not in seen[0] and "frozen_hidden" in seen[1]
  (m0, p0, e0), (m1, p1, e1) = out["recompute"], out["rollout"]
  assert [[s[:2] for s in e] for e in e0] == [[s[:2] for s in e] for e in e1]
  assert all(s[2] is None for e in e0 + e1 for s in e)  # freed once in the batch
  assert m0["adv/total_nonzero"] > 0  # the policy-gradient term moves the adapters too
  for k in ("loss", "kl", "pg_loss", "grad_norm"):  # measured: at most 4e-6 apart (kl)
    np.testing.assert_allclose(m1[k], m0[k], rtol=1e-5, err_msg=k)
  # Adam moves a weight by lr * m / (sqrt(v) + eps) a step: about lr whatever the gradient's
  # size, so a gradient near 0 turns its rounding into a visible step (measured: 1.5e-6, lr 1e-2).
  jax.tree_util.tree_map(lambda a, b: np.testing.assert_allclose(a, b, atol=1e-3 * 1e-2), p0, p1)
  c = _config(tmp_path)
  c.model.lora.rank, c.model.lora.layers = 4, 0
  c.ppo.frozen_hidden = "rollout"
  with pytest.raises(ConfigError, match="ppo.frozen_hidden"):
    train.Run(c, str(tmp_path / "refused"))


def test_evaluation_batch_opens_more_envs_and_sets_the_chunks(tmp_path):
  """eval.batch: evaluation in chunks of that many episodes from a pool of whole training
  batches that holds them (training uses its first group_size x groups_per_batch envs); 0 keeps
  the training batch."""
  c = _config(tmp_path)
  c.env.group_size = 1  # a training batch of 2; the split has 4 tasks
  for batch, pool, chunks in ((0, 2, [2, 2]), (3, 4, [3, 1])):
    c.eval.batch = batch
    exp = train.build(c, str(tmp_path / f"b{batch}"))
    seen = []
    run = exp.runner.run
    exp.runner.run = lambda groups, *a, **k: (seen.append(len(groups)), run(groups, *a, **k))[1]
    try:
      episodes, _ = exp.evaluator.evaluate(num_tasks=4, split="train")
    finally:
      exp.close()
    assert exp.runner.num_envs == pool and seen == chunks and len(episodes) == 4


def test_stopped_evaluation_resumes_from_its_stored_chunks(tmp_path):
  """eval_store: a chunk stored by one evaluation is read back, not run again, and the resumed
  evaluation returns the uninterrupted one's episodes and row; another temperature or a
  damaged chunk file is refused with the file named."""
  from proxmo_jax.training import eval_store  # pylint: disable=import-outside-toplevel
  c = _config(tmp_path)
  c.env.group_size = 1  # chunks of 2 episodes: the split's 4 tasks in 2 chunks
  c.eval.temperature = 1.0  # random actions, so a chunk run again with another key would differ
  exp = train.build(c, str(tmp_path / "run"))
  calls = []
  run = exp.runner.run
  exp.runner.run = lambda groups, *a, **k: (calls.append(len(groups)), run(groups, *a, **k))[1]
  summary = lambda eps: [(e.task.task_id, e.won, e.truncated, [(s.response_ids, s.action,
                          s.valid, s.reward, s.observation) for s in e.steps]) for e in eps]
  store = eval_store.EvalStore(str(tmp_path / "store"))
  try:
    whole, whole_row = exp.evaluator.evaluate(num_tasks=4, split="train")
    first, _ = exp.evaluator.evaluate(num_tasks=4, split="train", store=store)
    files = sorted(p.name for p in (tmp_path / "store" / "train").iterdir())
    assert files == ["p0_c0.json", "p0_c2.json"] and calls == [2, 2, 2, 2]
    (tmp_path / "store" / "train" / "p0_c2.json").unlink()  # stopped in the second chunk
    seen = []
    resumed, row = exp.evaluator.evaluate(num_tasks=4, split="train", store=store,
                                          progress=lambda *a: seen.append(a))
    assert calls == [2, 2, 2, 2, 2]  # the second chunk only
    assert [(d, n, stored) for d, n, _, stored in seen] == [(2, 4, True), (4, 4, False)]
    assert summary(resumed) == summary(first) == summary(whole) and row == whole_row
    # A chunk read back reports the seconds it reported when it ran (sums over chunks, such as a
    # widened evaluation's, do not depend on which chunks were read back).
    again = []
    exp.evaluator.evaluate(num_tasks=4, split="train", store=store,
                           progress=lambda *a: again.append(a))
    assert [(stored, s) for _, _, s, stored in again] == [(True, s) for _, _, s, _ in seen]
    assert [e.task for e in resumed] == [e.task for e in whole]  # payloads included
    with pytest.raises(ValueError, match="temperature"):
      exp.evaluator.evaluate(num_tasks=4, split="train", store=store, temperature=0.5)
    (tmp_path / "store" / "train" / "p0_c0.json").write_text('{"key": ')
    with pytest.raises(ValueError, match="p0_c0.json is unreadable"):
      exp.evaluator.evaluate(num_tasks=4, split="train", store=store)
  finally:
    exp.close()


def test_stored_episode_keeps_numpy_scalar_infos(tmp_path):
  """An environment's info may hold numpy scalars (a partial score): stored and read back, they
  are the same numbers, so a resumed table's score column is the uninterrupted one's."""
  import numpy as np  # pylint: disable=import-outside-toplevel
  from proxmo_jax.rollout.records import Episode, StepRecord  # pylint: disable=import-outside-toplevel
  from proxmo_jax.training import eval_store  # pylint: disable=import-outside-toplevel
  task = Task("lock", "eval-0", "red_lock", payload="red")
  step = StepRecord(prompt_ids=[1, 2], response_ids=[3, 4], observation="a lock",
                    action="say red", valid=True, reward=10.0)
  episode = Episode(group=0, task=task, steps=[step], won=True,
                    info={"task_score": np.float32(0.25), "done": np.bool_(True), "raw": [1]})
  store, key = eval_store.EvalStore(str(tmp_path)), {"params": "x"}
  store.save("eval", 0, key, [episode], 1.5)
  (back,), seconds = store.load("eval", 0, key, [(task, 1000)])
  assert seconds == 1.5 and back.task is task and back.won and back.info == {
      "task_score": 0.25, "done": True}
  assert back.steps[0].response_ids == [3, 4] and back.steps[0].prompt_ids == []


def test_bc_fit_scores_the_experts_responses_as_the_update_does(tmp_path):
  """experiments/bc_fit.py: a step's response NLL is minus the sum of the log-probs that the
  update's `token_logprobs` gives its response tokens in behaviour cloning's batch layout
  (float32 on both sides, summed in another order: 1e-4 on sums of about 10 terms), `greedy` is
  whether every response token is the argmax, and a command's tokens are those spelling it."""
  import os  # pylint: disable=import-outside-toplevel
  import sys  # pylint: disable=import-outside-toplevel
  import numpy as np  # pylint: disable=import-outside-toplevel
  from proxmo_jax.models import logprobs  # pylint: disable=import-outside-toplevel
  from proxmo_jax.training import behavior_cloning  # pylint: disable=import-outside-toplevel
  sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "experiments"))
  import bc_fit  # pylint: disable=import-outside-toplevel
  c = _config(tmp_path)
  sft = train.behavior_clone(c, str(tmp_path))
  exp = train.build(c, str(tmp_path / "fit"), sft)
  spec, policy = exp.spec, exp.policy
  pairs = behavior_cloning.expert_steps(spec.train_tasks + spec.eval_tasks, spec.agent,
                                        spec.env_factory)
  scores = bc_fit.score_steps(policy, spec.agent, pairs, batch=4)  # a full and a partial batch
  examples = behavior_cloning.encode_pairs(pairs, policy, spec.agent)
  width = max(len(p) + len(r) for p, r in examples)
  ids, attn, resp = behavior_cloning._pad(examples, width)  # pylint: disable=protected-access
  logp = np.asarray(logprobs.token_logprobs(policy.params, ids, attn, policy.model_cfg)[0])
  want = -(logp * np.asarray(resp)).sum(axis=1)
  assert [s["response_nll"] for s in scores] == pytest.approx(want, abs=1e-4)
  # Greedy: the argmax after each position is the next response token, at every one of them.
  from proxmo_jax.models import transformer  # pylint: disable=import-outside-toplevel
  logits = np.asarray(transformer.forward(policy.params, ids, attn, policy.model_cfg))
  nxt, ids_np, resp_np = logits.argmax(-1), np.asarray(ids), np.asarray(resp) > 0
  greedy = [bool((nxt[i, :-1][resp_np[i, 1:]] == ids_np[i, 1:][resp_np[i, 1:]]).all())
            for i in range(len(pairs))]
  assert [s["greedy"] for s in scores] == greedy
  assert [s["verb"] for s in scores] == ["say"] * len(pairs)
  assert all(0.0 <= s["command_nll"] <= s["response_nll"] + 1e-6 for s in scores)
  summary = bc_fit.summarise(scores)
  assert summary["steps"] == len(pairs) and list(summary["by_verb"]) == ["say"]
  assert summary["greedy_pct"] == pytest.approx(100.0 * np.mean([s["greedy"] for s in scores]))
  # The command's tokens inside the response format, and all of them when it is not there.
  toks = ["<think></think>", "<action>", "take", " pen", "cil", " 1", "</action>", "<|im_end|>"]
  assert bc_fit.command_token_positions(toks, "take pencil 1") == [2, 3, 4, 5]
  assert bc_fit.command_token_positions(toks, "open fridge 1") == list(range(8))
  assert bc_fit.verb("click[buy now]") == "click" and bc_fit.verb("go to shelf 1") == "go"
