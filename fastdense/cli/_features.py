"""A CSV's columns as the network's input: numeric columns as they are, text columns
one-hot encoded, missing values an error or (``--impute``) filled with values learned in
training and saved with the model. ``train`` plans the encoding; ``train`` and ``predict``
apply it with :func:`features`."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Dict, List, Sequence, TextIO, Tuple

from ._common import UsageError, columns_list, pandas

if TYPE_CHECKING:
    import numpy as np

# A text column with more distinct values than this share of the rows (and at least
# _ID_MIN of them) looks like an identifier: one-hot encoding it gives features that
# name rows instead of describing them.
_ID_SHARE, _ID_MIN = 0.5, 20


def plan(
    df: Any, columns: Sequence[str], *, one_hot: bool, impute: bool, path: str, err: TextIO
) -> Tuple[Dict[str, List[str]], Dict[str, Any]]:
    """(one-hot categories per text column, fill value per column) for the training data.

    Without `impute` the fill values are empty and a missing value is an error; with it,
    every column gets one (numeric: the median, text: the most frequent value).
    """
    pd = pandas()
    text = [
        c
        for c in columns
        if not (pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c]))
    ]
    if text and not one_hot:
        raise UsageError(
            f"non-numeric feature column(s) {columns_list(text)}: "
            "encode them first, drop them with --drop, or pass --one-hot"
        )
    categories = {c: sorted(map(str, df[c].dropna().unique())) for c in text}
    for c in text:
        n = len(categories[c])
        if n >= _ID_MIN and n > _ID_SHARE * len(df):
            print(
                f"fastdense: warning: column {c!r} looks like an identifier ({n} distinct "
                f"values in {len(df)} rows): one-hot encoded it becomes {n} features that "
                f"tell rows apart rather than generalise; --drop {c} if it names rows",
                file=err,
            )
    fill: Dict[str, Any] = {}
    if impute:
        for c in columns:
            col = df[c]
            if c in categories:
                counts = col.dropna().astype(str).value_counts()
                # most frequent; ties broken by the value, so the choice is reproducible
                fill[c] = min(counts.index[counts == counts.max()]) if len(counts) else None
            else:
                median = col.astype(float).median()
                fill[c] = None if math.isnan(median) else float(median)
            if fill[c] is None:
                raise UsageError(f"--impute: column {c!r} has no values to learn a fill from")
    return categories, fill


def describe_fill(df: Any, fill: Dict[str, Any], categories: Dict[str, List[str]]) -> str:
    """One line saying what was filled with what (for the columns that had gaps)."""
    parts = []
    for c, v in fill.items():
        n = int(df[c].isna().sum())
        if n:
            how = "the most frequent value" if c in categories else "the median"
            parts.append(f"{c!r}: {n} row(s) with {how} {v!r}")
    return "Imputed missing values: " + ("; ".join(parts) if parts else "none were missing")


def features(
    df: Any,
    columns: Sequence[str],
    categories: Dict[str, List[str]],
    fill: Dict[str, Any],
    path: str,
) -> Tuple["np.ndarray", List[str]]:
    """The numeric feature matrix: `columns` in order, one-hot columns expanded, gaps
    filled from `fill` (a gap in a column without a fill value is an error)."""
    import numpy as np

    pd = pandas()
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise UsageError(f"{path} lacks the model's column(s) {columns_list(missing)}")
    blocks, names, infinite = [], [], []
    for c in columns:
        col = df[c]
        gaps = int(col.isna().sum())
        if gaps and c not in fill:
            raise UsageError(
                f"column {c!r} has missing values ({gaps} rows) in {path}; fill "
                "or drop them first, or train with --impute"
            )
        if c in categories:
            cats = categories[c]
            values = col.astype(str).where(col.notna(), None)
            if gaps:
                values = values.where(col.notna(), fill[c])
            unseen = sorted(set(values.dropna()) - set(map(str, cats)))
            if unseen:
                raise UsageError(
                    f"column {c!r} has value(s) not seen in training: {columns_list(unseen)}"
                )
            for cat in cats:
                blocks.append((values == str(cat)).to_numpy(dtype=np.float64))
                names.append(f"{c}={cat}")
            continue
        if pd.api.types.is_bool_dtype(col):
            col = col.astype(np.float64)
        if not (pd.api.types.is_numeric_dtype(col) or col.isna().all()):
            raise UsageError(f"column {c!r} is not numeric in {path}")
        values = col.to_numpy(dtype=np.float64, na_value=np.nan)
        if gaps:
            values = np.where(np.isnan(values), float(fill[c]), values)
        if not np.isfinite(values).all():
            infinite.append(c)
        blocks.append(values)
        names.append(str(c))
    if infinite:
        raise UsageError(
            f"column(s) {columns_list(infinite)} of {path} hold infinite values "
            "(inf / -inf); replace or drop them first"
        )
    return np.column_stack(blocks), names
