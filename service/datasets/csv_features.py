"""A CSV's feature cells, a block of rows at a time: numeric columns into one float64 matrix,
categorical ones into integer codes.

Every column starts numeric unless ``column_kinds`` says otherwise. A numeric block converts at
C speed (``np.array(…, float64)``); only a block that fails is visited cell by cell, where an
empty cell is missing (NaN) and a cell that is not a number either turns its column categorical
(``Recategorize``: the caller reads the file again with the new kinds, so no cell's text is
lost; all such columns of a block are found at once) or, for a column ``column_kinds`` makes
numeric, is a 422 naming its row and column. A categorical cell is kept as its code in its
column's categories (an empty cell is -1), so nothing holds a Python object per cell; a column
passing ``max_categories`` is refused at the row where it does.
"""

from __future__ import annotations

from array import array
from operator import itemgetter
from typing import Any

import numpy as np

from worker.pipeline import Column, Table

from .canonical import invalid, text_problem
from .columns import sorted_categories

_LOC: list[str | int] = ["body", "file"]


class Recategorize(Exception):  # noqa: N818 (a signal to read again, not an error)
    """Columns (feature positions) found to hold text: read the file again with them
    categorical."""

    def __init__(self, columns: set[int], why: dict[int, str] | None = None) -> None:
        self.columns = columns
        self.why = why or {}  # column -> its first text cell: "row 1500 (line 1501) holds 'n/a'"
        super().__init__(f"columns {sorted(columns)} hold text")


class FeatureCells:
    """Accumulates blocks of rows; ``kinds[j]`` and ``forced[j]`` (set by ``column_kinds``)
    for each feature column ``j`` at ``positions[j]`` of a row."""

    def __init__(self, header: list[str], positions: list[int], kinds: list[str],
                 forced: list[bool], bound: int, max_categories: int | None) -> None:
        self.header, self.positions, self.kinds, self.forced = header, positions, kinds, forced
        self.numeric = [j for j, kind in enumerate(kinds) if kind == "numeric"]
        self.categorical = [j for j, kind in enumerate(kinds) if kind == "categorical"]
        self.X = np.empty((bound, len(self.numeric)), np.float64)
        self.pick = itemgetter(*(positions[j] for j in self.numeric)) if self.numeric else None
        self.codes = [array("i") for _ in self.categorical]
        self.index: list[dict[str, int]] = [{} for _ in self.categorical]
        self.max_categories = max_categories
        self.why: dict[int, str] = {}  # inferred categorical columns: the text that made them so
        self.n = 0

    def add(self, block: list[tuple[list[str], int]]) -> None:
        if self.pick is not None:
            self._numbers(block)
        for k, j in enumerate(self.categorical):
            self._categories(block, k, j)
        self.n += len(block)

    def _numbers(self, block: list[tuple[list[str], int]]) -> None:
        assert self.pick is not None
        part = self.X[self.n : self.n + len(block)]
        try:
            part[:] = np.array([self.pick(row) for row, _ in block],
                               dtype=np.float64).reshape(len(block), -1)
            literal_nan = np.isnan(part)  # no empty cell in the block: a NaN was written out
        except ValueError:
            literal_nan = self._numbers_one_by_one(block, part)
        bad = ~np.isfinite(part) & ~(np.isnan(part) & ~literal_nan)
        if bad.any():
            i, jj = (int(v) for v in np.argwhere(bad)[0])
            self._refuse(block, i, self.numeric[jj], "is not a finite number; leave the cell "
                                                     "empty for a missing value")

    def _numbers_one_by_one(self, block: list[tuple[list[str], int]],
                            part: np.ndarray) -> np.ndarray:
        """Fill ``part`` a column at a time (empty = NaN), cell by cell only in a column with
        text; returns the cells that were NaN literals."""
        literal = np.zeros(part.shape, bool)
        text: dict[int, str] = {}
        for jj, j in enumerate(self.numeric):
            position = self.positions[j]
            cells = [row[position] for row, _ in block]
            blank = [not c or c.isspace() for c in cells]
            try:
                part[:, jj] = np.array(["nan" if b else c for c, b in zip(cells, blank,
                                                                        strict=True)],
                                       dtype=np.float64)
                literal[:, jj] = np.isnan(part[:, jj]) & ~np.array(blank)
                continue
            except ValueError:
                pass
            for i, (row, _) in enumerate(block):
                cell = row[position].strip()
                if not cell:
                    part[i, jj] = np.nan
                    continue
                try:
                    part[i, jj] = float(cell)
                except ValueError:
                    if self.forced[j]:
                        self._refuse(block, i, j, "is not a number (column_kinds makes the "
                                                  "column numeric)")
                    text[j] = f"row {self.n + i + 1} (line {block[i][1]}) holds {short(cell)!r}"
                    break  # the column holds text: the rest of it need not be read
        if text:
            raise Recategorize(set(text), text)
        return literal

    def _categories(self, block: list[tuple[list[str], int]], k: int, j: int) -> None:
        index, codes, position = self.index[k], self.codes[k], self.positions[j]
        for i, (row, _) in enumerate(block):
            cell = row[position].strip()
            if not cell:
                codes.append(-1)
                continue
            code = index.get(cell)
            if code is None:
                if "\0" in cell:
                    self._refuse(block, i, j, f"holds a NUL character; {text_problem(cell)}")
                code = index[cell] = len(index)
                if self.max_categories is not None and len(index) > self.max_categories:
                    self._refuse(block, i, j, (
                        f"is the column's {len(index):,}th distinct category; the limit is "
                        f"{self.max_categories:,} (DESCENT_MAX_COLUMN_CATEGORIES): is it an "
                        "identifier or free text? drop it" + self._because(j)))
            codes.append(code)

    def _because(self, j: int) -> str:
        """Why a column of numbers is read as categories: one text cell (a "n/a" among
        numbers) turns the whole column categorical, and then its numbers are categories."""
        if j not in self.why:
            return ""
        return (f". The column is categorical because {self.why[j]}, which is not a number: "
                "if it marks a missing value, leave the cell empty")

    def _refuse(self, block: list[tuple[list[str], int]], i: int, j: int, problem: str) -> Any:
        row, line = block[i]
        cell = row[self.positions[j]].strip()
        shown = short(cell)
        raise invalid(_LOC, f"row {self.n + i + 1} (line {line}), column "
                            f"{self.header[self.positions[j]]!r}: {shown!r} {problem}")

    def table(self) -> Table:
        """The columns read, in feature order (the matrix trimmed to the rows read)."""
        self.X.resize((self.n, len(self.numeric)), refcheck=False)
        names = [self.header[p] for p in self.positions]
        if not self.categorical:
            return Table.from_matrix(self.X, names)
        columns: list[Column] = []
        numbers, codes = iter(range(len(self.numeric))), iter(range(len(self.categorical)))
        for j, kind in enumerate(self.kinds):
            if kind == "numeric":
                columns.append(Column(names[j], "numeric", self.X[:, next(numbers)]))
            else:
                k = next(codes)
                values = np.frombuffer(self.codes[k], dtype=np.int32)
                columns.append(sorted_categories(names[j], values, list(self.index[k])))
        return Table(tuple(columns))


def numbers_read_as_categories(table: Table, why: dict[int, str]) -> list[str]:
    """A warning for each column inferred categorical (``why``: feature position → its first
    text cell) whose categories are numbers but for 1 to 3 texts (an "NA", "null", "n/a" or
    "-" marking a missing value): the column is kept categorical, but the user likely meant
    numbers with missing cells, and is told which cells to empty."""
    warnings = []
    for j, first in sorted(why.items()):
        column = table.columns[j]
        categories = column.categories or ()
        texts = [c for c in categories if not is_number(c)]
        if not texts or len(texts) > 3 or len(categories) - len(texts) < len(texts):
            continue
        shown = ", ".join(repr(short(t)) for t in texts)
        warnings.append(
            f"column {column.name!r} was read as categorical (its numbers as categories) "
            f"because of the non-number cell(s) {shown} (first: {first}). If they mark missing "
            "values, leave those cells empty and upload again, so the column is numeric; if "
            f"the column is categorical, say so with column_kinds {{\"{column.name}\": "
            "\"categorical\"}.")
    return warnings


def is_number(cell: str) -> bool:
    """Whether a CSV cell reads as a number (Python's ``float``: also "nan" and "inf")."""
    try:
        float(cell)
    except ValueError:
        return False
    return True


def short(cell: str) -> str:
    """A cell as quoted in an error message: at most 40 characters."""
    return cell if len(cell) <= 40 else cell[:37] + "..."
