"Issue 21: the library notebooks read like the lessons: short code cells and code lines that fit a screen."
import json
from pathlib import Path

import pytest

from test_lessons import check_fits_a_screen

NBS = Path(__file__).resolve().parent.parent / 'nbs'
LIBRARY = sorted(p.name for p in NBS.glob('*.ipynb'))      # the library notebooks, index and contributing (lessons: test_lessons.py)


def test_every_library_notebook_is_checked():
    assert {'00_data.ipynb', '02_masks.ipynb', '04_transfer.ipynb', '07_cli.ipynb', 'index.ipynb'} <= set(LIBRARY)


@pytest.mark.parametrize('name', LIBRARY)
def test_library_code_fits_a_screen(name):
    "Code lines of at most 100 characters; code cells of at most 25 lines (about 20: one function or class, or a few constants, per cell)."
    check_fits_a_screen(name, json.loads((NBS / name).read_text())['cells'], 25)
