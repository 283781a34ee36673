"""``torch.utils.data``: see :mod:`fastdense.data`."""

from ...data import (DataLoader, Dataset, Generator, Subset, TensorDataset, default_collate,
                     random_split)

__all__ = ["DataLoader", "Dataset", "TensorDataset", "Subset", "random_split", "Generator",
           "default_collate"]
