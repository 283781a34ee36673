"""Data loading (``torch.utils.data``): datasets, samplers, ``DataLoader``.

A ``DataLoader`` over a ``TensorDataset`` gathers each batch with one NumPy
fancy-indexing call per tensor (no per-sample Python work); other datasets
are indexed sample by sample and collated by stacking, as PyTorch's default
``collate_fn`` does. The samplers (``SequentialSampler``, ``RandomSampler``,
``SubsetRandomSampler``, ``WeightedRandomSampler``, ``BatchSampler``) have
PyTorch's arguments, errors and lengths; the loader builds its ``sampler``
and ``batch_sampler`` as PyTorch's does. Randomness comes from a
:class:`Generator` or, without one, from the process-wide generator
(``fastdense.torch.manual_seed``): fastdense's own stream, so the same seed
gives the same orders and draws every run, with PyTorch's distributions but
not PyTorch's draws.
"""

from __future__ import annotations

import bisect
import math
import warnings
from typing import Any, Callable, Iterable, Iterator, List, Optional, Sequence

import numpy as np

from ._random import default_generator
from ._validation import to_ndarray
from .autograd import Tensor, _const

__all__ = [
    "Dataset",
    "TensorDataset",
    "ConcatDataset",
    "Subset",
    "random_split",
    "DataLoader",
    "Generator",
    "Sampler",
    "SequentialSampler",
    "RandomSampler",
    "SubsetRandomSampler",
    "WeightedRandomSampler",
    "BatchSampler",
    "default_collate",
]


class Generator:
    """A seedable random generator (``torch.Generator``), backed by NumPy's PCG64."""

    def __init__(self, device: Any = "cpu") -> None:
        self._rng = np.random.Generator(np.random.PCG64())
        self._seed: Optional[int] = None

    def manual_seed(self, seed: int) -> "Generator":
        """Reseed; returns self."""
        self._rng = np.random.Generator(np.random.PCG64(int(seed)))
        self._seed = int(seed)
        return self

    def initial_seed(self) -> Optional[int]:
        """The last seed given to :meth:`manual_seed`."""
        return self._seed


def _rng(generator: Optional[Generator]) -> np.random.Generator:
    return default_generator() if generator is None else generator._rng


class Dataset:
    """Base class of map-style datasets: ``__getitem__`` and ``__len__``."""

    def __getitem__(self, index):
        raise NotImplementedError("Subclasses of Dataset should implement __getitem__.")


class TensorDataset(Dataset):
    """Samples are the rows of tensors that share their first dimension."""

    def __init__(self, *tensors: Any) -> None:
        ts = tuple(t if isinstance(t, Tensor) else _const(to_ndarray(t, "tensor")) for t in tensors)
        if any(t.shape[:1] != ts[0].shape[:1] for t in ts):
            raise AssertionError("Size mismatch between tensors")
        self.tensors = ts

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]


class ConcatDataset(Dataset):
    """Datasets one after the other (``torch.utils.data.ConcatDataset``).

    Parameters
    ----------
    datasets : iterable of Dataset
        Map-style datasets (with ``__len__``); at least one.
    """

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = list(datasets)
        if len(self.datasets) == 0:
            raise AssertionError("datasets should not be an empty iterable")
        sizes, total = [], 0
        for d in self.datasets:
            if not hasattr(d, "__len__") or not hasattr(d, "__getitem__"):
                raise AssertionError("ConcatDataset does not support IterableDataset")
            total += len(d)  # type: ignore[arg-type]
            sizes.append(total)
        self.cumulative_sizes = sizes

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx):
        if idx < 0:
            if -idx > len(self):
                raise ValueError("absolute value of index should not exceed dataset length")
            idx = len(self) + idx
        which = bisect.bisect_right(self.cumulative_sizes, idx)
        start = 0 if which == 0 else self.cumulative_sizes[which - 1]
        return self.datasets[which][idx - start]


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices`` (``torch.utils.data.Subset``)."""

    def __init__(self, dataset: Dataset, indices: Sequence[int]) -> None:
        self.dataset, self.indices = dataset, list(indices)

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return [self.dataset[self.indices[i]] for i in idx]
        return self.dataset[self.indices[idx]]

    def __len__(self) -> int:
        return len(self.indices)


def random_split(dataset: Dataset, lengths: Sequence, generator: Optional[Generator] = None):
    """Split into non-overlapping random subsets of the given lengths (or fractions).

    Fractions that sum to 1 become lengths ``floor(n * f)``, the remainder
    given one by one to the first subsets, as PyTorch does.
    """
    n = len(dataset)  # type: ignore[arg-type]
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        sizes = []
        for i, frac in enumerate(lengths):
            if frac < 0 or frac > 1:
                raise ValueError(f"Fraction at index {i} is not between 0 and 1")
            sizes.append(int(math.floor(n * frac)))
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
        for i, size in enumerate(sizes):
            if size == 0:
                warnings.warn(
                    f"Length of split at index {i} is 0. This might result in an empty dataset.",
                    UserWarning,
                    stacklevel=2,
                )
    else:
        sizes = [int(x) for x in lengths]
    if sum(sizes) != n:
        raise ValueError("Sum of input lengths does not equal the length of the input dataset!")
    perm = _rng(generator).permutation(n)
    out, start = [], 0
    for size in sizes:
        out.append(Subset(dataset, perm[start : start + size].tolist()))
        start += size
    return out


# -- samplers -------------------------------------------------------------------------


def _check_positive_int(name: str, value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name} should be a positive integer value, but got {name}={value}")


def _check_bool(name: str, value: Any, error: type = TypeError) -> None:
    if not isinstance(value, bool):
        raise error(f"{name} should be a boolean value, but got {name}={value}")


class Sampler:
    """Base class of samplers (``torch.utils.data.Sampler``): iterate over dataset indices."""

    def __init__(self, data_source: Optional[Any] = None) -> None:
        pass

    def __iter__(self) -> Iterator[Any]:
        raise NotImplementedError


class SequentialSampler(Sampler):
    """The indices ``0 .. len(data_source) - 1`` in order."""

    def __init__(self, data_source: Any) -> None:
        self.data_source = data_source

    def _order(self) -> np.ndarray:
        return np.arange(len(self.data_source))

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """Random indices (``torch.utils.data.RandomSampler``).

    Without replacement: a new permutation each epoch (``num_samples`` larger
    than the dataset repeats whole permutations, then part of one); with
    replacement: ``num_samples`` uniform draws.

    Parameters
    ----------
    data_source : Dataset
    replacement : bool, default=False
    num_samples : int, optional
        Default ``len(data_source)``.
    generator : Generator, optional
        Default: the process-wide generator.
    """

    def __init__(
        self,
        data_source: Any,
        replacement: bool = False,
        num_samples: Optional[int] = None,
        generator: Optional[Generator] = None,
    ) -> None:
        self.data_source, self.replacement = data_source, replacement
        self._num_samples, self.generator = num_samples, generator
        _check_bool("replacement", replacement)
        _check_positive_int("num_samples", self.num_samples)

    @property
    def num_samples(self) -> int:
        """The number of indices per epoch."""
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def _order(self) -> np.ndarray:
        n, k, rng = len(self.data_source), self.num_samples, _rng(self.generator)
        if self.replacement:
            return rng.integers(0, n, size=k)
        if k == n:
            return rng.permutation(n)
        parts = [rng.permutation(n) for _ in range(k // n)]
        if k % n:
            parts.append(rng.permutation(n)[: k % n])
        return np.concatenate(parts)

    def __iter__(self) -> Iterator[int]:
        return iter(self._order().tolist())

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices in a new random order each epoch (``torch.utils.data.SubsetRandomSampler``)."""

    def __init__(self, indices: Sequence[int], generator: Optional[Generator] = None) -> None:
        self.indices, self.generator = indices, generator

    def _order(self) -> np.ndarray:
        idx = np.asarray(self.indices)
        return idx[_rng(self.generator).permutation(len(idx))]

    def __iter__(self) -> Iterator[int]:
        return iter(self._order().tolist())

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """Indices drawn with probabilities proportional to ``weights`` (``torch.utils.data.WeightedRandomSampler``).

    Parameters
    ----------
    weights : sequence of float
        One non-negative weight per index (need not sum to 1).
    num_samples : int
    replacement : bool, default=True
        Without it, no index is drawn twice (``num_samples`` at most the
        number of nonzero weights).
    generator : Generator, optional
    """

    def __init__(
        self,
        weights: Any,
        num_samples: int,
        replacement: bool = True,
        generator: Optional[Generator] = None,
    ) -> None:
        _check_positive_int("num_samples", num_samples)
        _check_bool("replacement", replacement)
        w = np.asarray(weights._data if isinstance(weights, Tensor) else weights, dtype=np.float64)
        if w.ndim != 1:
            raise ValueError(
                f"weights should be a 1d sequence but given weights have shape {tuple(w.shape)}"
            )
        self.weights, self.num_samples = w, num_samples
        self.replacement, self.generator = replacement, generator

    def _order(self) -> np.ndarray:
        w = self.weights
        if not np.all(np.isfinite(w)) or np.any(w < 0):
            raise RuntimeError(
                "invalid multinomial distribution (encountering probability entry < 0, inf or nan)"
            )
        total = w.sum()
        if total <= 0:
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        rng, k = _rng(self.generator), self.num_samples
        if self.replacement:
            return rng.choice(len(w), size=k, replace=True, p=w / total)
        if k > len(w):
            raise RuntimeError(
                "cannot sample n_sample > prob_dist.size(-1) samples without replacement"
            )
        nonzero = np.flatnonzero(w)
        if k <= len(nonzero):
            return rng.choice(len(w), size=k, replace=False, p=w / total)
        # as torch.multinomial: the weighted indices all come first, then zero-weight ones
        zero = np.flatnonzero(w == 0)
        first = rng.choice(len(w), size=len(nonzero), replace=False, p=w / total)
        return np.concatenate([first, rng.permutation(zero)[: k - len(nonzero)]])

    def __iter__(self) -> Iterator[int]:
        return iter(self._order().tolist())

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Lists of ``batch_size`` indices from ``sampler`` (``torch.utils.data.BatchSampler``).

    Parameters
    ----------
    sampler : Sampler or iterable of int
    batch_size : int
    drop_last : bool
        Drop a last batch smaller than ``batch_size``.
    """

    def __init__(self, sampler: Any, batch_size: int, drop_last: bool) -> None:
        _check_positive_int("batch_size", batch_size)
        _check_bool("drop_last", drop_last, ValueError)
        self.sampler, self.batch_size, self.drop_last = sampler, batch_size, drop_last

    def _batches(self) -> Iterator[np.ndarray]:
        """The batches as index arrays (one permutation sliced, when the sampler has one)."""
        order = (
            self.sampler._order()
            if hasattr(self.sampler, "_order")
            else np.fromiter(iter(self.sampler), dtype=np.int64)
        )
        bs = self.batch_size
        stop = len(order) - (len(order) % bs if self.drop_last else 0)
        for start in range(0, stop, bs):
            yield order[start : start + bs]

    def __iter__(self) -> Iterator[List[int]]:
        for batch in self._batches():
            yield batch.tolist()

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


def default_collate(samples: List[Any]):
    """Stack a list of samples (tensors, arrays, numbers, or tuples of them)."""
    first = samples[0]
    if isinstance(first, (tuple, list)):
        return type(first)(default_collate([s[i] for s in samples]) for i in range(len(first)))
    if isinstance(first, dict):
        return {k: default_collate([s[k] for s in samples]) for k in first}
    if isinstance(first, Tensor):
        return _const(np.stack([s._data for s in samples]))
    arr = np.asarray(samples)
    if arr.dtype == np.float64 and isinstance(first, float):
        arr = arr.astype(np.float64)  # PyTorch collates Python floats as float64
    return _const(arr)


class DataLoader:
    """Batches of a dataset (``torch.utils.data.DataLoader``), in the main process.

    Builds ``sampler`` (``RandomSampler`` with ``shuffle``, else
    ``SequentialSampler``) and ``batch_sampler`` (a ``BatchSampler`` of
    ``batch_size`` and ``drop_last``) as PyTorch does, with PyTorch's errors
    for arguments that exclude each other.

    Parameters
    ----------
    dataset : Dataset
    batch_size : int or None, default=1
        None disables batching (samples are yielded one by one).
    shuffle : bool, default=False
        A new permutation each epoch, drawn from ``generator``.
    sampler : Sampler or iterable of int, optional
        Excludes ``shuffle``.
    batch_sampler : Sampler or iterable of lists of int, optional
        Excludes ``batch_size``, ``shuffle``, ``sampler`` and ``drop_last``.
    num_workers : int, default=0
        Only 0 (fastdense loads in the calling thread); other values raise.
    collate_fn : callable, optional
    drop_last : bool, default=False
    generator : Generator, optional
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: Optional[int] = 1,
        shuffle: Optional[bool] = None,
        sampler=None,
        batch_sampler=None,
        num_workers: int = 0,
        collate_fn: Optional[Callable] = None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn=None,
        generator: Optional[Generator] = None,
        **kwargs: Any,
    ) -> None:
        if num_workers != 0:
            raise ValueError(
                "fastdense's DataLoader loads in the calling process only: num_workers must "
                f"be 0 (got {num_workers}); torch's worker processes are not supported"
            )
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError(
                    "batch_sampler option is mutually exclusive with batch_size, "
                    "shuffle, sampler, and drop_last"
                )
            batch_size, drop_last = None, False
        elif batch_size is None:
            if drop_last:
                raise ValueError(
                    "batch_size=None option disables auto-batching and is "
                    "mutually exclusive with drop_last"
                )
        else:
            _check_positive_int("batch_size", batch_size)
            _check_bool("drop_last", drop_last, ValueError)
        if sampler is None:
            sampler = (
                RandomSampler(dataset, generator=generator)
                if shuffle
                else SequentialSampler(dataset)
            )
        self._auto_batch = batch_size is not None and batch_sampler is None
        if self._auto_batch:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)  # type: ignore[arg-type]
        self.dataset, self.batch_size, self.shuffle = dataset, batch_size, bool(shuffle)
        self.sampler, self.batch_sampler = sampler, batch_sampler
        self.collate_fn, self.drop_last, self.generator = collate_fn, drop_last, generator
        self.num_workers = 0

    def _index_batches(self) -> Iterator[Any]:
        if self._auto_batch:
            # from the current sampler, so a sampler assigned after construction is used
            yield from BatchSampler(
                self.sampler,
                int(self.batch_size),  # type: ignore[arg-type]
                bool(self.drop_last),
            )._batches()
        elif self.batch_sampler is not None:
            batches = self.batch_sampler
            yield from (batches._batches() if isinstance(batches, BatchSampler) else batches)
        else:
            yield from self.sampler

    def __iter__(self):
        ds, collate = self.dataset, self.collate_fn
        batched = self._auto_batch or self.batch_sampler is not None
        fast = isinstance(ds, TensorDataset) and collate is None and batched
        for idx in self._index_batches():
            if fast:
                idx = np.asarray(idx, dtype=np.int64)
                yield [_const(t._data[idx]) for t in ds.tensors]
            elif not batched:
                yield ds[int(idx)] if collate is None else collate(ds[int(idx)])
            else:
                samples = [ds[int(i)] for i in idx]
                yield (collate or default_collate)(samples)

    def __len__(self) -> int:
        if self.batch_sampler is not None and not self._auto_batch:
            return len(self.batch_sampler)
        n = len(self.sampler)
        if self.batch_size is None:
            return n
        bs = int(self.batch_size)
        return n // bs if self.drop_last else -(-n // bs)
