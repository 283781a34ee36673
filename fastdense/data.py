"""Data loading (``torch.utils.data``): ``Dataset``, ``TensorDataset``, ``DataLoader``.

A ``DataLoader`` over a ``TensorDataset`` gathers each batch with one NumPy
fancy-indexing call per tensor (no per-sample Python work); other datasets
are indexed sample by sample and collated by stacking, as PyTorch's default
``collate_fn`` does. Shuffling uses a :class:`Generator` (fastdense's own
stream: the same uniform permutations as PyTorch, different draws).
"""

from __future__ import annotations

import math
from typing import Any, Callable, Iterator, List, Optional, Sequence

import numpy as np

from ._random import default_generator
from .autograd import Tensor, _const
from ._validation import to_ndarray

__all__ = ["Dataset", "TensorDataset", "DataLoader", "Generator", "random_split", "Subset"]


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
        ts = tuple(t if isinstance(t, Tensor) else _const(to_ndarray(t, "tensor"))
                   for t in tensors)
        if any(t.shape[:1] != ts[0].shape[:1] for t in ts):
            raise AssertionError("Size mismatch between tensors")
        self.tensors = ts

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``."""

    def __init__(self, dataset: Dataset, indices: Sequence[int]) -> None:
        self.dataset, self.indices = dataset, list(indices)

    def __getitem__(self, idx):
        return self.dataset[self.indices[idx]]

    def __len__(self) -> int:
        return len(self.indices)


def random_split(dataset: Dataset, lengths: Sequence, generator: Optional[Generator] = None):
    """Split into non-overlapping random subsets of the given lengths (or fractions)."""
    n = len(dataset)  # type: ignore[arg-type]
    if all(0 <= x <= 1 for x in lengths) and math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        sizes = [int(math.floor(n * f)) for f in lengths]
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
    else:
        sizes = [int(x) for x in lengths]
    if sum(sizes) != n:
        raise ValueError("Sum of input lengths does not equal the length of the input dataset!")
    perm = _rng(generator).permutation(n)
    out, start = [], 0
    for s in sizes:
        out.append(Subset(dataset, perm[start:start + s].tolist()))
        start += s
    return out


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

    Parameters
    ----------
    dataset : Dataset
    batch_size : int or None, default=1
    shuffle : bool, default=False
        A new permutation each epoch, drawn from ``generator``.
    sampler, batch_sampler : iterable, optional
        Indices (or lists of indices) to use instead.
    num_workers : int, default=0
        Only 0 (fastdense loads in the calling thread); other values raise.
    collate_fn : callable, optional
    drop_last : bool, default=False
    generator : Generator, optional
    """

    def __init__(self, dataset: Dataset, batch_size: Optional[int] = 1, shuffle: bool = False,
                 sampler=None, batch_sampler=None, num_workers: int = 0,
                 collate_fn: Optional[Callable] = None, pin_memory: bool = False,
                 drop_last: bool = False, timeout: float = 0, worker_init_fn=None,
                 generator: Optional[Generator] = None, **kwargs: Any) -> None:
        if num_workers != 0:
            raise ValueError(
                "fastdense's DataLoader loads in the calling process only: num_workers must "
                f"be 0 (got {num_workers}); torch's worker processes are not supported"
            )
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_size is not None and (isinstance(batch_size, bool) or int(batch_size) <= 0):
            raise ValueError(f"batch_size should be a positive integer value, but got "
                             f"batch_size={batch_size}")
        self.dataset, self.batch_size, self.shuffle = dataset, batch_size, shuffle
        self.sampler, self.batch_sampler = sampler, batch_sampler
        self.collate_fn, self.drop_last, self.generator = collate_fn, drop_last, generator
        self.num_workers = 0

    def _index_batches(self) -> Iterator[Any]:
        if self.batch_sampler is not None:
            yield from self.batch_sampler
            return
        n = len(self.dataset)  # type: ignore[arg-type]
        if self.sampler is not None:
            order = np.asarray(list(self.sampler), dtype=np.int64)
        elif self.shuffle:
            order = _rng(self.generator).permutation(n)
        else:
            order = np.arange(n)
        if self.batch_size is None:
            yield from order
            return
        bs = int(self.batch_size)
        stop = len(order) - (len(order) % bs if self.drop_last else 0)
        for start in range(0, stop, bs):
            yield order[start:start + bs]

    def __iter__(self):
        ds, collate = self.dataset, self.collate_fn
        fast = isinstance(ds, TensorDataset) and collate is None and self.batch_size is not None
        for idx in self._index_batches():
            if fast:
                yield [_const(t._data[idx]) for t in ds.tensors]
            elif self.batch_size is None and self.batch_sampler is None:
                yield ds[int(idx)] if collate is None else collate(ds[int(idx)])
            else:
                samples = [ds[int(i)] for i in idx]
                yield (collate or default_collate)(samples)

    def __len__(self) -> int:
        n = len(self.dataset)  # type: ignore[arg-type]
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        if self.batch_size is None:
            return n
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)
