"Committed notebook outputs are read by people: no path of the machine that ran them, no progress bar frozen mid-way, no widget repr."
import json, re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / 'nbs').rglob('*.ipynb'))
TEXT_TYPES = ('text/plain', 'text/html', 'text/markdown', 'application/json')
ABS_PATH = re.compile(r'(?<![\w.])(/work/|/home/|/root/|/tmp/|/var/folders/|/Users/|[A-Z]:\\\\Users)')
FROZEN_BAR = re.compile(r'\b(\d{1,2})%\|')          # tqdm's "37%|███▋      |": anything short of 100%


def texts(nb):
    "(cell id, text) of every text-like output of a notebook."
    for c in nb['cells']:
        for o in c.get('outputs', []):
            if o.get('output_type') == 'stream': yield c.get('id'), ''.join(o.get('text', ''))
            for mime, v in (o.get('data') or {}).items():
                if mime in TEXT_TYPES or mime.endswith('+json'): yield c.get('id'), v if isinstance(v, str) else json.dumps(v)


@pytest.mark.parametrize('path', NOTEBOOKS, ids=[str(p.relative_to(ROOT / 'nbs')) for p in NOTEBOOKS])
def test_outputs_fit_to_read(path):
    nb = json.loads(path.read_text())
    for c in nb['cells']:
        for o in c.get('outputs', []):
            assert 'application/vnd.jupyter.widget-view+json' not in (o.get('data') or {}), \
                f"{path.name} cell {c.get('id')}: a widget saved as its text repr; run tools/strip_progress.py on the notebook"
    for cid, t in texts(nb):
        m = ABS_PATH.search(t)
        assert not m, f"{path.name} cell {cid}: an output shows a path of the machine that ran it: ...{t[max(0, m.start() - 40):m.end() + 40]!r}"
        b = FROZEN_BAR.search(t)
        assert not b, f"{path.name} cell {cid}: an output holds a progress bar frozen at {b.group(1)}%"


def test_the_scan_catches_what_it_should():
    bad = {'cells': [{'id': 'x', 'outputs': [{'output_type': 'stream', 'text': 'wrote /work/main/results/x.csv'}]},
                     {'id': 'y', 'outputs': [{'output_type': 'display_data', 'data': {'text/plain': 'fit:  37%|███▋      | 30/79'}}]}]}
    found = list(texts(bad))
    assert ABS_PATH.search(found[0][1]) and FROZEN_BAR.search(found[1][1])
    assert not FROZEN_BAR.search('fit: 100%|██████████| 79/79') and not ABS_PATH.search('results/full/results.csv')
