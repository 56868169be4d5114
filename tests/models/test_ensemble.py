"""The one ensemble: the mean of its members' distributions, whatever the members are."""

import pytest
import torch

from rnnlab.models.config import GRUConfig, build_model
from rnnlab.models.ensemble import Ensemble, members


def classifier(seed: int):
    torch.manual_seed(seed)
    config = GRUConfig(kind="gru", hidden_size=6)
    return build_model(config, 5, 3, inputs="tokens", targets="per_sequence").eval()


@torch.no_grad()
def test_classifier_probabilities_are_the_mean_of_the_members_softmax():
    first, second, third = classifier(0), classifier(1), classifier(2)
    x = torch.randint(0, 5, (4, 7))
    lengths = torch.tensor([7, 3, 5, 1])
    ensemble = Ensemble([first, second, third])
    found = ensemble.probabilities(x, lengths)
    each = [torch.softmax(m(x, lengths=lengths)[0], -1) for m in (first, second, third)]
    torch.testing.assert_close(found, (each[0] + each[1] + each[2]) / 3)
    torch.testing.assert_close(Ensemble.mean_predictions(each), found)
    assert torch.equal(Ensemble([first]).probabilities(x, lengths), each[0])
    assert members(ensemble) == [first, second, third]
    assert members([first, second]) == [first, second] and members(first) == [first]
    assert not ensemble.needs_targets and len(ensemble) == 3


def test_an_empty_ensemble_is_refused():
    with pytest.raises(ValueError, match="at least one model"):
        Ensemble([])
