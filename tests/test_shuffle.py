"""The epoch's shuffle in the compiled module (fastdense/_shuffle.pxd) against NumPy's
legacy RandomState.shuffle: the same permutation and the same generator state after it."""

import threading

import numpy as np
import pytest

from fastdense import DenseBinaryClassifier, _train
from fastdense.estimators._solvers import _EpochShuffle


def _pair(seed):
    return np.random.RandomState(seed), np.random.RandomState(seed)


@pytest.mark.parametrize("n", [0, 1, 2, 3, 5, 64, 623, 624, 625, 1024, 1025, 2049, 5000, 20_011])
@pytest.mark.parametrize("seed", [0, 1, 12345, 2**32 - 1])
def test_same_permutation_and_state_as_numpy(n, seed):
    ours, numpys = _pair(seed)
    for _ in range(3):  # epochs: each starts where the last one left the state
        x = np.arange(n, dtype=np.intp)
        expected = x.copy()
        numpys.shuffle(expected)
        _train.mt19937_shuffle(x, _train.mt19937_of(ours))
        np.testing.assert_array_equal(x, expected)
    got, want = ours.get_state(legacy=False), numpys.get_state(legacy=False)
    assert got["state"]["pos"] == want["state"]["pos"]
    np.testing.assert_array_equal(got["state"]["key"], want["state"]["key"])
    assert ours.randint(2**31) == numpys.randint(2**31)  # and the stream goes on alike


def test_every_state_position_including_a_fresh_twist():
    # pos 624 (the key must be twisted first) comes from set_state, and every
    # other position from draws before the shuffle
    for draws in [0, 1, 300, 623]:
        ours, numpys = _pair(7)
        ours.randint(10, size=draws)
        numpys.randint(10, size=draws)
        x = np.arange(777, dtype=np.intp)
        expected = x.copy()
        numpys.shuffle(expected)
        _train.mt19937_shuffle(x, _train.mt19937_of(ours))
        np.testing.assert_array_equal(x, expected)
    state = np.random.RandomState(3).get_state()
    ours, numpys = np.random.RandomState(), np.random.RandomState()
    ours.set_state(state[:2] + (624,) + state[3:])
    numpys.set_state(state[:2] + (624,) + state[3:])
    x = np.arange(100, dtype=np.intp)
    expected = x.copy()
    numpys.shuffle(expected)
    _train.mt19937_shuffle(x, _train.mt19937_of(ours))
    np.testing.assert_array_equal(x, expected)


def test_values_are_permuted_as_sklearn_shuffle_permutes_them():
    from sklearn.utils import shuffle

    idx = np.random.RandomState(0).permutation(999).astype(np.intp)
    ours, theirs = _pair(42)
    step = _EpochShuffle(ours)
    for _ in range(4):
        got = step(idx)
        want = shuffle(idx, random_state=theirs)
        np.testing.assert_array_equal(got, want)
        idx = got


class _Sub(np.random.RandomState):
    pass


@pytest.mark.parametrize(
    "random_state",
    [np.random.RandomState(np.random.PCG64(0)), _Sub(0), np.random.default_rng(0)],
    ids=["pcg64-randomstate", "subclass", "generator"],
)
def test_other_generators_take_their_own_shuffle(random_state):
    assert _train.mt19937_of(random_state) is None
    step = _EpochShuffle(random_state)
    out = step(np.arange(50, dtype=np.intp))
    np.testing.assert_array_equal(np.sort(out), np.arange(50))


def test_a_bad_position_is_an_error_not_a_write_outside_the_array():
    import ctypes

    rs = np.random.RandomState(0)
    bg = _train.mt19937_of(rs)
    pos = ctypes.c_int.from_address(bg.ctypes.state_address + 624 * 4)
    assert pos.value == rs.get_state()[2]  # the layout mt19937_of proved
    pos.value = 100_000
    with pytest.raises(ValueError, match="position"):
        _train.mt19937_shuffle(np.arange(10, dtype=np.intp), bg)


def test_a_thread_drawing_meanwhile_leaves_a_permutation():
    # the shuffle holds the generator's lock, as NumPy's does: the draws wait for it
    rs = np.random.RandomState(0)
    bg = _train.mt19937_of(rs)
    x = np.arange(200_000, dtype=np.intp)
    worker = threading.Thread(target=lambda: [rs.random() for _ in range(1000)])
    worker.start()
    _train.mt19937_shuffle(x, bg)
    worker.join()
    np.testing.assert_array_equal(np.sort(x), np.arange(200_000))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_fits_equal_those_shuffled_by_numpy(dtype, monkeypatch):
    # the same fit with the shuffle forced through RandomState.shuffle
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 5)).astype(dtype)
    y = (X[:, 0] > 0).astype(int)
    kw = dict(hidden_layer_sizes=(8,), batch_size=32, max_iter=5, random_state=0, tol=0)
    fast = DenseBinaryClassifier(**kw).fit(X, y)
    monkeypatch.setattr(_train, "mt19937_of", lambda random_state: None)
    slow = DenseBinaryClassifier(**kw).fit(X, y)
    for a, b in zip(fast.coefs_ + fast.intercepts_, slow.coefs_ + slow.intercepts_):
        np.testing.assert_array_equal(a, b)
    assert fast.loss_curve_ == slow.loss_curve_
