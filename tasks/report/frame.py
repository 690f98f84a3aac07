"""Report rows as pandas DataFrames, for the form where pandas does the work: the CSV.

The rows themselves (and the JSON documents, the terminal and markdown tables) come from
:mod:`tasks.report.rows`, in plain Python; this module only turns them into a DataFrame with
the columns of :data:`~tasks.report.rows.COLUMNS` (counts as nullable ``Int64``). pandas is
imported inside the functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from tasks.report.rows import COLUMNS, INT_COLUMNS, Row

if TYPE_CHECKING:
    import pandas as pd


def frame_of(rows: Sequence[Row]) -> pd.DataFrame:
    """``rows`` as a DataFrame: one row each, in order, columns :data:`COLUMNS`."""
    import pandas as pd

    frame = pd.DataFrame(list(rows), columns=list(COLUMNS))
    for column in INT_COLUMNS:
        frame[column] = frame[column].astype("Int64")
    return frame
