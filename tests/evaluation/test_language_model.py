"""Character language models evaluated: the Kneser-Ney baseline."""

import math

import pytest

from rnnlab.evaluation import language_model
from rnnlab.tasks.char_lm import CharLM, CharLMConfig


def test_baseline_is_the_kneser_ney_order_best_on_validation(corpus):
    task = CharLM(CharLMConfig(path=str(corpus)))
    found = language_model.baselines(task, "val")["kneser_ney"]
    assert 1 <= found["order"] <= 7
    assert found["bpc"] == pytest.approx(found["loss_nats"] / math.log(2))
    assert found["loss_nats"] < math.log(task.output_size - 1)  # better than uniform
