"Issue 21: the library notebooks read like the lessons: short code cells, each followed by its example, and code lines that fit a screen."
import json
from pathlib import Path

import pytest

NBS = Path(__file__).resolve().parent.parent / 'nbs'
LIBRARY = sorted(p.name for p in NBS.glob('*.ipynb'))      # the library notebooks, index and contributing (lessons: test_lessons.py)
MAX_LINE, MAX_CELL = 100, 25


def code_cells(name):
    return [c for c in json.loads((NBS / name).read_text())['cells'] if c['cell_type'] == 'code']


def test_every_library_notebook_is_checked():
    assert {'00_data.ipynb', '02_masks.ipynb', '04_transfer.ipynb', '07_cli.ipynb', 'index.ipynb'} <= set(LIBRARY)


@pytest.mark.parametrize('name', LIBRARY)
def test_library_code_fits_a_screen(name):
    f"Code lines of at most {MAX_LINE} characters; code cells of at most {MAX_CELL} lines (about 20: one function or class, or a few constants, per cell)."
    for c in code_cells(name):
        lines = ''.join(c['source']).splitlines()
        assert len(lines) <= MAX_CELL, f"{name}: cell {c.get('id')} has {len(lines)} lines: split it (one definition per cell, then its example)"
        long = [l for l in lines if len(l) > MAX_LINE]
        assert not long, f"{name}: cell {c.get('id')} has lines over {MAX_LINE} characters: {long[0][:60]}..."


@pytest.mark.parametrize('name', [n for n in LIBRARY if n[0].isdigit()])
def test_every_exported_cell_is_followed_by_an_example(name):
    "An exported definition is followed by code that uses it before the next exported cell (the notebook's own check of it)."
    cells = code_cells(name)
    exported = [i for i, c in enumerate(cells) if ''.join(c['source']).lstrip().startswith('#| export')]
    lonely = []
    for i in exported:
        nxt = cells[i + 1] if i + 1 < len(cells) else None
        if nxt is None or ''.join(nxt['source']).lstrip().startswith('#| export'): lonely.append(cells[i].get('id'))
    # a run of exported helpers may share the example after the last of them; a notebook's cells mostly do not
    assert len(lonely) <= len(exported) // 2, f"{name}: {len(lonely)} of {len(exported)} exported cells have no example right after them: {lonely[:5]}"
