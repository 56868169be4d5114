import numpy as np

from rnnlab.rl.normalisation import ObservationNormaliser, RewardScaler, RunningMoments


def test_running_moments_equal_the_moments_of_everything_seen():
    rng = np.random.default_rng(0)
    moments = RunningMoments((3,))
    batches = [rng.normal(2.0, 3.0, size=(n, 3)) for n in (1, 7, 30, 2)]
    for batch in batches:
        moments.update(batch)
    everything = np.concatenate(batches)
    np.testing.assert_allclose(moments.mean, everything.mean(0))
    np.testing.assert_allclose(moments.var, everything.var(0))
    assert moments.count == len(everything)


def test_observation_normaliser_standardises_and_clips():
    normaliser = ObservationNormaliser(2, clip=5.0)
    normaliser.update(np.array([[0.0, 10.0], [2.0, 10.0]]))
    out = normaliser(np.array([[1.0, 10.0], [3.0, 20.0]]))
    np.testing.assert_allclose(out[:, 0], [0.0, 2.0], atol=1e-6)  # mean 1, sd 1
    assert out[0, 1] == 0.0 and out[1, 1] == 5.0  # sd 0: clipped


def test_reward_scaler_divides_by_the_sd_of_the_discounted_return():
    scaler = RewardScaler(1, gamma=0.5)
    ended, valid = np.array([False]), np.array([True])
    seen = []
    for _ in range(4):
        seen.append(scaler(np.array([1.0]), ended, valid)[0])
    returns = [1.0, 1.5, 1.75, 1.875]
    assert seen[-1] == np.float32(1.0 / np.sqrt(np.var(returns) + 1e-8))
    # a dummy step leaves the return and its moments alone
    before = scaler.moments.count
    scaler(np.array([0.0]), ended, np.array([False]))
    assert scaler.moments.count == before
