"""torch.utils.data in fastdense: samplers, datasets and the DataLoader's wiring, against torch.

Deterministic parts (sequential orders, batching, lengths, dataset indexing, argument
errors) must equal torch's. Random parts use fastdense's own generator: the same seed
gives the same draws, and the draws have the documented distribution (not torch's draws).
"""

import numpy as np
import pytest

import fastdense.torch as ft
from fastdense.torch.utils import data as fdd

torch = pytest.importorskip("torch")
tdd = torch.utils.data


def _datasets(n=10):
    x = np.arange(2 * n, dtype=np.float32).reshape(n, 2)
    y = np.arange(n, dtype=np.int64)
    return (
        fdd.TensorDataset(ft.tensor(x), ft.tensor(y)),
        tdd.TensorDataset(torch.from_numpy(x), torch.from_numpy(y)),
    )


def _batches(loader):
    out = []
    for batch in loader:
        out.append([np.asarray(b.tolist()).tolist() for b in batch])
    return out


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(batch_size=3),
        dict(batch_size=3, drop_last=True),
        dict(batch_size=10),
        dict(batch_size=None),
        dict(batch_size=4, sampler=[9, 1, 5, 3, 3]),
        dict(batch_sampler=[[0, 1], [7, 8, 9], [2]]),
    ],
)
def test_loader_batches_and_len_equal_torch(kwargs):
    fd_ds, t_ds = _datasets()
    fd_loader, t_loader = fdd.DataLoader(fd_ds, **kwargs), tdd.DataLoader(t_ds, **kwargs)
    assert len(fd_loader) == len(t_loader)
    assert _batches(fd_loader) == _batches(t_loader)
    assert type(fd_loader.sampler).__name__ == type(t_loader.sampler).__name__
    assert type(fd_loader.batch_sampler).__name__ == type(t_loader.batch_sampler).__name__


def test_shuffled_loader_is_a_permutation_reproducible_by_seed():
    fd_ds, _ = _datasets(11)
    runs = []
    for _ in range(2):
        loader = fdd.DataLoader(
            fd_ds, batch_size=4, shuffle=True, generator=fdd.Generator().manual_seed(3)
        )
        assert isinstance(loader.sampler, fdd.RandomSampler)
        assert isinstance(loader.batch_sampler, fdd.BatchSampler)
        epochs = [sum((b[1].tolist() for b in loader), []) for _ in range(2)]
        assert all(sorted(e) == list(range(11)) for e in epochs)
        assert epochs[0] != epochs[1]  # a new permutation each epoch
        runs.append(epochs)
    assert runs[0] == runs[1]
    ft.manual_seed(5)
    a = list(fdd.RandomSampler(range(20)))
    ft.manual_seed(5)
    assert list(fdd.RandomSampler(range(20))) == a  # the process-wide generator


@pytest.mark.parametrize(
    "kwargs, length",
    [
        (dict(), 7),
        (dict(num_samples=17), 17),
        (dict(num_samples=3), 3),
        (dict(replacement=True, num_samples=30), 30),
    ],
)
def test_random_sampler_lengths_and_draws(kwargs, length):
    g = fdd.Generator().manual_seed(0)
    s = fdd.RandomSampler(range(7), generator=g, **kwargs)
    t = tdd.RandomSampler(range(7), **kwargs)
    assert len(s) == len(t) == length
    draws = list(s)
    assert len(draws) == length and all(0 <= i < 7 for i in draws)
    if not kwargs.get("replacement"):
        # whole permutations, then part of one: each index at most ceil(length / 7) times
        counts = np.bincount(draws, minlength=7)
        assert counts.max() - counts.min() <= 1


def test_subset_random_and_weighted_samplers():
    g = fdd.Generator().manual_seed(1)
    s = fdd.SubsetRandomSampler([3, 5, 9, 11], generator=g)
    assert len(s) == 4 and sorted(s) == [3, 5, 9, 11]
    w = fdd.WeightedRandomSampler(
        [0.0, 0.0, 1.0, 3.0], num_samples=4000, generator=fdd.Generator().manual_seed(2)
    )
    counts = np.bincount(list(w), minlength=4)
    assert counts[0] == counts[1] == 0 and len(w) == 4000
    assert abs(counts[3] / 4000 - 0.75) < 0.03
    wo = fdd.WeightedRandomSampler(
        ft.tensor([1.0, 2.0, 3.0, 4.0]),
        4,
        replacement=False,
        generator=fdd.Generator().manual_seed(2),
    )
    assert sorted(wo) == [0, 1, 2, 3]
    # without replacement, zero weights come last, once the weighted indices are used up
    assert (
        list(fdd.WeightedRandomSampler([1.0, 0.0], 2, replacement=False))
        == list(tdd.WeightedRandomSampler([1.0, 0.0], 2, replacement=False))
        == [0, 1]
    )
    for lib in (fdd, tdd):
        with pytest.raises(RuntimeError, match="without replacement"):
            list(lib.WeightedRandomSampler([1.0, 0.0], 3, replacement=False))
    with pytest.raises(RuntimeError, match="invalid multinomial"):
        list(fdd.WeightedRandomSampler([1.0, -1.0], 2))


def test_weighted_loader_over_imbalanced_set_draws_the_minority():
    x = np.zeros((100, 1), np.float32)
    y = np.r_[np.zeros(90), np.ones(10)].astype(np.int64)
    weights = np.where(y == 1, 9.0, 1.0)
    loader = fdd.DataLoader(
        fdd.TensorDataset(ft.tensor(x), ft.tensor(y)),
        batch_size=50,
        sampler=fdd.WeightedRandomSampler(weights, 1000, generator=fdd.Generator().manual_seed(0)),
    )
    labels = np.concatenate([b[1].numpy() for b in loader])
    assert len(loader) == 20 and labels.shape == (1000,)
    assert abs(labels.mean() - 0.5) < 0.06


@pytest.mark.parametrize(
    "make",
    [
        lambda m, ds: m.DataLoader(ds, batch_size=2, sampler=[0, 1], shuffle=True),
        lambda m, ds: m.DataLoader(ds, batch_sampler=[[0]], batch_size=2),
        lambda m, ds: m.DataLoader(ds, batch_sampler=[[0]], drop_last=True),
        lambda m, ds: m.DataLoader(ds, batch_size=None, drop_last=True),
        lambda m, ds: m.DataLoader(ds, batch_size=0),
        lambda m, ds: m.BatchSampler(range(3), batch_size=True, drop_last=False),
        lambda m, ds: m.BatchSampler(range(3), batch_size=2, drop_last=1),
        lambda m, ds: m.RandomSampler(ds, replacement=1),
        lambda m, ds: m.RandomSampler(ds, num_samples=0),
        lambda m, ds: m.WeightedRandomSampler([[1.0, 2.0]], 2),
        lambda m, ds: m.WeightedRandomSampler([1.0, 2.0], -1),
        lambda m, ds: m.ConcatDataset([]),
        lambda m, ds: m.random_split(ds, [3, 3]),
    ],
)
def test_argument_errors_equal_torch(make):
    fd_ds, t_ds = _datasets()
    with pytest.raises(Exception) as expected:
        make(tdd, t_ds)
    with pytest.raises(type(expected.value)) as got:
        make(fdd, fd_ds)
    assert str(got.value).split(",")[0] == str(expected.value).split(",")[0]


def test_concat_subset_and_random_split_as_torch():
    fd_a, t_a = _datasets(4)
    fd_b, t_b = _datasets(3)
    fd_c, t_c = fdd.ConcatDataset([fd_a, fd_b]), tdd.ConcatDataset([t_a, t_b])
    assert len(fd_c) == len(t_c) == 7 and fd_c.cumulative_sizes == t_c.cumulative_sizes
    for i in (0, 3, 4, 6, -1, -7):
        assert [v.tolist() for v in fd_c[i]] == [v.tolist() for v in t_c[i]]
    with pytest.raises(ValueError, match="should not exceed dataset length"):
        fd_c[-8]
    sub = fdd.Subset(fd_c, [6, 0])
    assert [v.tolist() for v in sub[0]] == [v.tolist() for v in t_c[6]]
    for lengths in ([0.5, 0.3, 0.2], [0.34, 0.33, 0.33], [3, 4]):
        fd_parts = fdd.random_split(fd_c, lengths, generator=fdd.Generator().manual_seed(0))
        t_parts = tdd.random_split(t_c, lengths)
        assert [len(p) for p in fd_parts] == [len(p) for p in t_parts]
        assert sorted(sum((p.indices for p in fd_parts), [])) == list(range(7))
