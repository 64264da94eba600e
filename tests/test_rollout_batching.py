"""Episodes -> row-aligned advantage and token batches."""

import numpy as np
import pytest

from environments.interface import Task
from proxmo_jax.proximity import tfidf_features
from proxmo_jax.rollout.batching import build_update_batch
from proxmo_jax.rollout.records import Episode, StepRecord

TASK = Task("alfworld", "t0", "pick_and_place_simple")


def _step(p, r, obs, reward=0.0, valid=True):
  return StepRecord(prompt_ids=list(range(1, p + 1)), response_ids=[7] * r, observation=obs,
                    action="look", valid=valid, reward=reward)


def test_layout_is_row_aligned_and_padded():
  eps = [Episode(0, TASK, [_step(3, 2, "you see a mug"), _step(5, 1, "nothing happens", 10.0)],
                 won=True),
         Episode(0, TASK, [_step(4, 3, "you see a mug", valid=False)]),
         Episode(1, TASK, [])]
  batch, tokens = build_update_batch(eps, tfidf_features, row_multiple=8, prompt_multiple=4,
                                     response_multiple=4)
  assert batch.size % 8 == 0 and tokens.input_ids.shape[0] == batch.size
  assert tokens.prompt_len == 8 and tokens.input_ids.shape[1] == 12
  ids, attn, resp = (np.asarray(x) for x in (tokens.input_ids, tokens.attention_mask,
                                             tokens.response_mask))
  np.testing.assert_array_equal(ids[0], [0, 0, 0, 0, 0, 1, 2, 3, 7, 7, 0, 0])
  np.testing.assert_array_equal(attn[0], [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0])
  np.testing.assert_array_equal(resp[0], [0] * 8 + [1, 1, 0, 0])
  assert not resp[3:].any() and not attn[3:].any()
  np.testing.assert_array_equal(np.asarray(batch.invalid_action)[:3], [False, False, True])
  np.testing.assert_array_equal(np.asarray(batch.episode_scores)[:3], [10.0, 10.0, 0.0])
  np.testing.assert_array_equal(np.asarray(batch.valid)[:4], [True, True, True, False])


def test_no_steps_is_an_error():
  with pytest.raises(ValueError, match="no step samples"):
    build_update_batch([Episode(0, TASK, [])], None)


def test_sentencepiece_decode_ignores_out_of_range_ids():
  from proxmo_jax.tokenizers import train_sentencepiece
  tok = train_sentencepiece(["go to the fridge 1", "open the cabinet 2"] * 20, vocab_size=300)
  ids = tok.encode("go to the fridge 1")
  assert tok.decode(ids + [tok.vocab_size + 5, 10 ** 6]) == "go to the fridge 1"


def test_eval_tasks_interleave_task_types():
  from proxmo_jax.training.evaluation import interleave_task_types
  tasks = [Task("alfworld", f"{t}{k}", t) for t in ("a", "b", "c") for k in range(3)]
  tasks = tasks[:7]  # a0 a1 a2 b0 b1 b2 c0
  assert [t.task_id for t in interleave_task_types(tasks)] == [
      "a0", "b0", "c0", "a1", "b1", "a2", "b2"]
