"""torch.Size: what Tensor.shape, Tensor.size() and broadcast_shapes return, against PyTorch's."""

import copy
import pickle

import numpy as np
import pytest

import fastdense.torch as fd


def _pairs(torch):
    """(fastdense value, torch value) for each way of making or deriving a Size."""
    made = [
        lambda t: t.zeros(2, 3).shape,
        lambda t: t.zeros(2, 3).size(),
        lambda t: t.zeros(()).shape,
        lambda t: t.zeros(4, 0, 2).shape,
        lambda t: t.Size(),
        lambda t: t.Size([5]),
        lambda t: t.Size([True, np.int64(3), t.tensor(4)]),
        lambda t: t.Size((2, 3))[1:],
        lambda t: t.Size((2, 3))[::-1],
        lambda t: t.Size((2, 3)) + (4,),
        lambda t: (4,) + t.Size((2, 3)),
        lambda t: t.Size((2, 3)) + t.Size([1]),
        lambda t: t.Size((2, 3)) * 2,
        lambda t: 2 * t.Size((2, 3)),
        lambda t: t.broadcast_shapes((2, 1), (1, 3)),
        lambda t: t.ones(3, 1).expand(3, 4).shape,
    ]
    return [(f(fd), f(torch)) for f in made]


def test_size_matches_torch():
    torch = pytest.importorskip("torch")
    for ours, theirs in _pairs(torch):
        assert repr(ours) == repr(theirs)
        assert str(ours) == str(theirs)
        assert tuple(ours) == tuple(theirs)
        assert ours.numel() == theirs.numel()
        assert type(ours).__name__ == "Size"


@pytest.mark.parametrize("bad", [2.0, np.float64(2.0), "3", None])
def test_size_rejects_what_torch_rejects(bad):
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError) as theirs:
        torch.Size([1, bad])
    with pytest.raises(TypeError) as ours:
        fd.Size([1, bad])
    assert str(ours.value) == str(theirs.value)


def test_size_is_a_tuple():
    s = fd.zeros(2, 3).shape
    assert isinstance(s, tuple) and s == (2, 3) and hash(s) == hash((2, 3))
    rows, cols = s
    assert (rows, cols) == (2, 3)
    assert np.zeros(s).shape == (2, 3)
    assert fd.zeros(s).shape == s
    assert fd.zeros(2, 3).size(-1) == 3 and type(fd.zeros(2, 3).size(0)) is int
    for copied in (pickle.loads(pickle.dumps(s)), copy.deepcopy(s), copy.copy(s)):
        assert copied == s and type(copied) is fd.Size
    assert fd.Size([]).numel() == 1 and fd.Size([4, 0]).numel() == 0
    with pytest.raises(IndexError):
        fd.zeros(2, 3).size(2)
