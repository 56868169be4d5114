"""The one ensemble: N networks with stacked parameters that run, train and predict together."""

import pytest
import torch

import rnnlab
from rnnlab.layers import state_tensors
from rnnlab.models.config import GRUConfig, build_model
from rnnlab.models.ensemble import Ensemble, members


def classifier(seed: int):
    torch.manual_seed(seed)
    config = GRUConfig(kind="gru", hidden_size=6)
    return build_model(config, 5, 3, inputs="tokens", targets="per_sequence").eval()


def alone(make, seed):
    torch.manual_seed(seed)
    return make()


FAMILIES = {
    "elman": lambda: rnnlab.Elman(3, 5, dtype=torch.float64),
    "elman_relu_2_bi": lambda: rnnlab.Elman(
        3, 4, 2, "relu", bidirectional=True, dtype=torch.float64
    ),
    "jordan": lambda: rnnlab.Jordan(3, 4, 2, dtype=torch.float64),
    "gru": lambda: rnnlab.GRU(3, 5, dtype=torch.float64),
    "lstm_2": lambda: rnnlab.LSTM(3, 4, 2, dtype=torch.float64),
    "lstm_peephole": lambda: rnnlab.LSTM(3, 4, peephole=True, dtype=torch.float64),
}


@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize("path", ["auto", "reference"])
def test_each_member_is_the_network_alone_in_values_and_gradients(family, path, monkeypatch):
    monkeypatch.setenv("RNNLAB_PATH", path)
    make, seeds = FAMILIES[family], [3, 1, 4]
    ensemble = Ensemble(make, 3, seeds=seeds)
    x = torch.randn(2, 6, 3, dtype=torch.float64, requires_grad=True)
    lengths = torch.tensor([6, 4])
    outputs, state = ensemble(x, lengths=lengths)
    weights = torch.randn_like(outputs)
    (outputs * weights).sum().backward()
    for k, seed in enumerate(seeds):
        network = alone(make, seed)
        x_k = x.detach().clone().requires_grad_()
        out_k, state_k = network(x_k, lengths=lengths)
        (out_k * weights[k]).sum().backward()
        torch.testing.assert_close(outputs[k], out_k, rtol=0, atol=1e-12)
        for part, part_k in zip(state_tensors(state), state_tensors(state_k)):
            torch.testing.assert_close(part[k], part_k, rtol=0, atol=1e-12)
        for name, parameter in ensemble.named_parameters():
            torch.testing.assert_close(
                parameter.grad[k], network.get_parameter(name).grad, rtol=0, atol=1e-12
            )


def test_one_input_per_member_and_states_with_members_first():
    make = FAMILIES["lstm_2"]
    ensemble = Ensemble(make, 2, seeds=[0, 1])
    x = torch.randn(2, 3, 5, 3, dtype=torch.float64)  # (N, B, T, I)
    state = rnnlab.LSTMState(*torch.randn(2, 2, 2, 3, 4, dtype=torch.float64))  # (2, N, L, B, H)
    outputs, final = ensemble(x, state)
    assert outputs.shape == (2, 3, 5, 4) and final.h.shape == final.c.shape == (2, 2, 3, 4)
    for k in range(2):
        out_k, final_k = alone(make, k)(x[k], rnnlab.LSTMState(state.h[k], state.c[k]))
        torch.testing.assert_close(outputs[k], out_k, rtol=0, atol=1e-12)
        torch.testing.assert_close(final.c[k], final_k.c, rtol=0, atol=1e-12)
    with pytest.raises(
        ValueError, match=r"one input per member; its first dimension must be the 2 members"
    ):
        ensemble(torch.randn(3, 3, 5, 3, dtype=torch.float64))


def test_members_in_and_out_with_torch_nn_names():
    nets = [alone(FAMILIES["gru"], seed) for seed in range(3)]
    ensemble = Ensemble.from_members(nets)
    state = ensemble.state_dict()
    assert {k: tuple(v.shape) for k, v in state.items()} == {
        k: (3, *v.shape) for k, v in nets[0].state_dict().items()
    }  # the members' names, stacked
    for k, net in enumerate(nets):
        plain = ensemble.member(k)
        assert type(plain) is type(net)
        assert all(torch.equal(plain.state_dict()[n], v) for n, v in net.state_dict().items())
    again = Ensemble(FAMILIES["gru"], 3)
    again.load_state_dict(Ensemble.stack_state_dicts([n.state_dict() for n in nets]))
    assert all(torch.equal(again.state_dict()[n], v) for n, v in state.items())
    # A plain network's torch.nn names move into a member and out again.
    torch_gru = torch.nn.GRU(3, 5, batch_first=True, dtype=torch.float64)
    net = FAMILIES["gru"]()
    net.load_state_dict(torch_gru.state_dict())
    mixed = Ensemble.from_members([net, nets[1]])
    assert torch.equal(mixed.member(0).weight_hh_l0, torch_gru.weight_hh_l0)


def test_members_of_different_architectures_or_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="at least one member"):
        Ensemble.from_members([])
    with pytest.raises(ValueError, match=r"member 1 differs from member 0"):
        Ensemble.from_members([rnnlab.GRU(3, 5), rnnlab.GRU(3, 6)])
    with pytest.raises(ValueError, match="of one kind"):
        Ensemble.from_members([rnnlab.GRU(3, 5), rnnlab.LSTM(3, 5)])
    with pytest.raises(ValueError, match=r"n must be a positive int .*got 0"):
        Ensemble(lambda: rnnlab.GRU(3, 5), 0)
    with pytest.raises(ValueError, match=r"one seed per member \(2\); got 3"):
        Ensemble(lambda: rnnlab.GRU(3, 5), 2, seeds=[0, 1, 2])
    with pytest.raises(TypeError, match="make must be a function"):
        Ensemble(rnnlab.GRU(3, 5), 2)
    with pytest.raises(IndexError, match=r"an int in 0 \.\. 1; got 2"):
        Ensemble(lambda: rnnlab.GRU(3, 5), 2).member(2)


@torch.no_grad()
def test_classifier_probabilities_are_the_mean_of_the_members_softmax():
    first, second, third = classifier(0), classifier(1), classifier(2)
    x = torch.randint(0, 5, (4, 7))
    lengths = torch.tensor([7, 3, 5, 1])
    ensemble = Ensemble.from_members([first, second, third])
    found = ensemble.mean_probabilities(x, lengths)
    each = [torch.softmax(m(x, lengths=lengths)[0], -1) for m in (first, second, third)]
    torch.testing.assert_close(found, (each[0] + each[1] + each[2]) / 3)
    torch.testing.assert_close(Ensemble.mean_predictions(each), found)
    assert torch.equal(Ensemble.from_members([first]).mean_probabilities(x, lengths), each[0])
    assert [type(m) for m in members(ensemble)] == [type(first)] * 3
    assert members([first, second]) == [first, second] and members(first) == [first]
    assert not ensemble.needs_targets and len(ensemble) == 3
    # The members for inference are rebuilt when the weights change.
    cached = ensemble.members()
    assert ensemble.members() is cached
    ensemble.readout.weight.add_(1.0)
    assert ensemble.members() is not cached


MEMBER_KERNEL_LAYERS = {  # every family with a member kernel, with the options it serves
    "elman_tanh": lambda: rnnlab.Elman(3, 5, dtype=torch.float64),
    "elman_relu_2_layers_bidirectional": lambda: rnnlab.Elman(
        3, 5, 2, "relu", bidirectional=True, dtype=torch.float64
    ),
    "elman_sigmoid_no_bias": lambda: rnnlab.Elman(
        3, 5, nonlinearity="sigmoid", bias=False, dtype=torch.float64
    ),
    "gru": lambda: rnnlab.GRU(3, 5, dtype=torch.float64),
    "gru_2_layers_bidirectional": lambda: rnnlab.GRU(
        3, 5, 2, bidirectional=True, dtype=torch.float64
    ),
    "gru_no_bias": lambda: rnnlab.GRU(3, 5, bias=False, dtype=torch.float64),
    "jordan": lambda: rnnlab.Jordan(3, 5, 4, dtype=torch.float64),
    "jordan_relu_linear_out_2_layers_bidirectional_no_bias": lambda: rnnlab.Jordan(
        3,
        5,
        4,
        num_layers=2,
        nonlinearity="relu",
        output_nonlinearity="identity",
        bidirectional=True,
        bias=False,
        dtype=torch.float64,
    ),
    "lstm": lambda: rnnlab.LSTM(3, 5, dtype=torch.float64),
    "lstm_2_layers_bidirectional": lambda: rnnlab.LSTM(
        3, 5, 2, bidirectional=True, dtype=torch.float64
    ),
    "lstm_peephole_no_bias": lambda: rnnlab.LSTM(
        3, 5, bias=False, peephole=True, dtype=torch.float64
    ),
}


# Every layer with a shared x, one of each family with one x per member, in the default run;
# the other layers with one x per member under -m slow.
PER_MEMBER_X = {"elman_relu_2_layers_bidirectional", "gru", "jordan", "lstm_peephole_no_bias"}
MEMBER_KERNEL_CASES = [
    pytest.param(layer, shared, id=f"{layer}-{'shared_x' if shared else 'x_per_member'}",
                 marks=() if shared or layer in PER_MEMBER_X else pytest.mark.slow)
    for layer in sorted(MEMBER_KERNEL_LAYERS) for shared in (True, False)
]  # fmt: skip


@pytest.mark.parametrize("layer, shared", MEMBER_KERNEL_CASES)
def test_the_member_kernels_are_the_members_one_by_one(layer, shared):
    make = MEMBER_KERNEL_LAYERS[layer]
    ensemble = Ensemble(make, 3, seeds=[1, 2, 3])
    shape = (2, 7, 3) if shared else (3, 2, 7, 3)
    x = torch.randn(*shape, dtype=torch.float64, requires_grad=True)
    lengths = torch.tensor([7, 4])
    template = ensemble.template
    LD = template.num_layers * template.num_directions
    sizes = [part.shape[-1] for part in state_tensors(template(x if shared else x[0])[1])]
    state = [torch.randn(3, LD, 2, size, dtype=torch.float64, requires_grad=True) for size in sizes]
    state_arg = state[0] if len(state) == 1 else rnnlab.LSTMState(*state)
    assert template.unroll_members(dict(ensemble.named_parameters()), x, state_arg, lengths)
    found = ensemble(x, state_arg, lengths)
    expected = ensemble.forward_members(x, state_arg, lengths)
    found = [found[0], *state_tensors(found[1])]
    expected = [expected[0], *state_tensors(expected[1])]
    weights = [torch.randn_like(t) for t in found]
    inputs = [x, *state, *ensemble.parameters()]
    grads = torch.autograd.grad(sum((f * w).sum() for f, w in zip(found, weights)), inputs)
    grads_expected = torch.autograd.grad(
        sum((e * w).sum() for e, w in zip(expected, weights)), inputs
    )
    for f, e in zip([*found, *grads], [*expected, *grads_expected]):
        torch.testing.assert_close(f, e, rtol=0, atol=1e-12)


@pytest.mark.parametrize("family", ["elman", "jordan", "gru", "lstm"])
def test_the_member_kernels_give_gradients_of_gradients(family):
    sizes = (2, 3, 2) if family == "jordan" else (2, 3)
    layer = {"elman": rnnlab.Elman, "jordan": rnnlab.Jordan, "gru": rnnlab.GRU,
             "lstm": rnnlab.LSTM}[family]  # fmt: skip
    make = lambda: layer(*sizes, dtype=torch.float64)  # noqa: E731
    ensemble = Ensemble(make, 2, seeds=[0, 1])
    x = torch.randn(2, 4, 2, dtype=torch.float64, requires_grad=True)
    lengths = torch.tensor([4, 2])
    weights = dict(ensemble.named_parameters())

    def outputs(x, *values):
        tensors = dict(zip(weights, values))
        return ensemble.template.unroll_members(tensors, x, None, lengths)[0]

    torch.autograd.gradgradcheck(outputs, (x, *weights.values()))
    # A gradient penalty: the gradient with a graph is not a constant.
    (gx,) = torch.autograd.grad(ensemble(x, lengths=lengths)[0].sum(), x, create_graph=True)
    (ggx,) = torch.autograd.grad(gx.pow(2).sum(), x)
    (gx_ref,) = torch.autograd.grad(
        ensemble.forward_members(x, lengths=lengths)[0].sum(), x, create_graph=True
    )
    (ggx_ref,) = torch.autograd.grad(gx_ref.pow(2).sum(), x)
    torch.testing.assert_close(ggx, ggx_ref, rtol=0, atol=1e-12)


def test_the_member_kernel_serves_only_what_it_can():
    ensemble = Ensemble(lambda: rnnlab.Elman(3, 4, 2, dropout=0.5), 2)
    x = torch.randn(2, 5, 3)
    tensors = dict(ensemble.named_parameters())
    ensemble.template.eval()
    assert ensemble.template.unroll_members(tensors, x) is not None  # evaluation mode: served
    ensemble.template.train()
    assert ensemble.template.unroll_members(tensors, x) is None  # active dropout: one by one
    ctrnn = Ensemble(lambda: rnnlab.CTRNN(3, 4), 2)
    assert ctrnn.template.unroll_members(dict(ctrnn.named_parameters()), x) is None  # none yet
    lstm = Ensemble(lambda: rnnlab.LSTM(3, 64), 2)  # B H = 128: served; 320: torch's fused LSTM
    assert lstm.template.unroll_members(dict(lstm.named_parameters()), x) is not None
    wide = torch.randn(5, 5, 3)
    assert lstm.template.unroll_members(dict(lstm.named_parameters()), wide) is None
    with pytest.raises(ValueError, match=r"state h must have shape \(N, L\*D, B, size\)"):
        ensemble.eval()
        ensemble(x, torch.zeros(2, 2, 4))


@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "bidirectional"])
def test_the_elman_member_kernel_above_the_inline_size_calls_blas_per_member(reverse):
    from rnnlab.kernels.elman_members import INLINE_MAX_WORK

    H, B = 64, 9
    assert B * H * H > INLINE_MAX_WORK  # the per-member BLAS loop serves this size
    make = lambda: rnnlab.Elman(3, H, bidirectional=reverse, dtype=torch.float64)  # noqa: E731
    ensemble = Ensemble(make, 2, seeds=[0, 1])
    x = torch.randn(B, 4, 3, dtype=torch.float64, requires_grad=True)
    lengths = torch.tensor([4, 2, 3, 4, 1, 4, 4, 2, 3])
    found = ensemble(x, lengths=lengths)
    expected = ensemble.forward_members(x, lengths=lengths)
    weights = [torch.randn_like(t) for t in found]
    inputs = [x, *ensemble.parameters()]
    grads = torch.autograd.grad(sum((f * w).sum() for f, w in zip(found, weights)), inputs)
    grads_expected = torch.autograd.grad(
        sum((e * w).sum() for e, w in zip(expected, weights)), inputs
    )
    for f, e in zip([*found, *grads], [*expected, *grads_expected]):
        torch.testing.assert_close(f, e, rtol=0, atol=1e-12)
