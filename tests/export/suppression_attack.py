"""The reader who tries to work out hidden counts from the totals: used by the suppression tests (not a test file)."""

from __future__ import annotations

import itertools

import numpy as np


def attack(tables: list[np.ndarray], masks: list[np.ndarray], *, row_totals: bool = True) -> set[tuple[int, int, int]]:
    """Every hidden cell a reader can work out from what is shown, by linear algebra on the totals.

    Written apart from the module: the unknowns are the hidden cells (the shared total row once); each row and column
    gives an equation; a hidden cell is recovered when its unit vector lies in the span of the equations (the rank
    does not grow when it is added).
    """
    unknowns: list[tuple] = []
    key_of = {}
    for t, (table, mask) in enumerate(zip(tables, masks, strict=True)):
        last = table.shape[0] - 1
        for i, j in itertools.product(range(table.shape[0]), range(table.shape[1])):
            if mask[i, j]:
                key = ("total", j) if i == last else (t, i, j)
                key_of[(t, i, j)] = key
                if key not in unknowns:
                    unknowns.append(key)
    if not unknowns:
        return set()
    equations = []
    for t, (table, mask) in enumerate(zip(tables, masks, strict=True)):
        rows, cols = table.shape
        groups = [[(i, j) for i in range(rows)] for j in range(cols)]
        if row_totals:
            groups += [[(i, j) for j in range(cols)] for i in range(rows)]
        for group in groups:
            equation = np.zeros(len(unknowns))
            for position, (i, j) in enumerate(group):
                if mask[i, j]:
                    equation[unknowns.index(key_of[(t, i, j)])] += -1 if position == len(group) - 1 else 1
            equations.append(equation)
    matrix = np.array(equations)
    rank = np.linalg.matrix_rank(matrix)
    found = set()
    for cell, key in key_of.items():
        unit = np.zeros(len(unknowns))
        unit[unknowns.index(key)] = 1
        if np.linalg.matrix_rank(np.vstack([matrix, unit])) == rank:
            found.add(cell)
    return found
