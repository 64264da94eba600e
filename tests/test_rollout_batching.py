"""Episodes -> row-aligned advantage and token batches."""

import numpy as np
import pytest

from environments.interface import Task
from proxmo_jax.proximity import tfidf_features
from proxmo_jax.rollout.batching import build_update_batch, frozen_hidden_batch
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


def test_frozen_hidden_states_go_to_their_tokens_columns():
  """Row i's kept states (prompt + response - 1 tokens, f32[n, D]) fill the columns of those
  tokens in the update layout; the last response token's column and padding stay 0. A step
  sample with the wrong count, or none, is refused."""
  def step(p, r, offset):
    s = _step(p, r, "obs")
    s.frozen_hidden = offset + np.arange(p + r - 1, dtype=np.float32)[:, None] * np.ones(
        (1, 2), np.float32)
    return s
  eps = [Episode(0, TASK, [step(3, 2, 100.0), step(5, 1, 200.0)])]
  _, tokens = build_update_batch(eps, None, row_multiple=4, prompt_multiple=4,
                                 response_multiple=4)
  hidden = frozen_hidden_batch(eps, tokens)
  assert hidden.shape == (tokens.input_ids.shape[0], 12, 2) and tokens.prompt_len == 8
  np.testing.assert_array_equal(hidden[0, :, 0], [0] * 5 + [100, 101, 102, 103] + [0] * 3)
  np.testing.assert_array_equal(hidden[1, :, 1], [0] * 3 + [200, 201, 202, 203, 204] + [0] * 4)
  assert not hidden[2:].any()
  eps[0].steps[1].frozen_hidden = eps[0].steps[1].frozen_hidden[1:]
  with pytest.raises(ValueError, match="step sample 1 has hidden states for 4 tokens, expected 5"):
    frozen_hidden_batch(eps, tokens)
  with pytest.raises(ValueError, match="keep_layer"):
    frozen_hidden_batch([Episode(0, TASK, [_step(3, 2, "obs")])], tokens)


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
