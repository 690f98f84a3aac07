"""Regenerate the malformed Parquet cases: python tests/data/malformed/make_parquet.py"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent


def main() -> None:
    """Write parquet-missing-input.parquet and parquet-duplicate-id.parquet."""
    pd.DataFrame(
        {"id": ["a", "b", "c"], "input": ["x", None, "z"], "target": ["1", "2", "3"]}
    ).to_parquet(HERE / "parquet-missing-input.parquet", index=False)
    pd.DataFrame(
        {"id": ["a", "b", "a"], "input": ["x", "y", "z"], "target": ["1", "2", "3"]}
    ).to_parquet(HERE / "parquet-duplicate-id.parquet", index=False)


if __name__ == "__main__":
    main()
