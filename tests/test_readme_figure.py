"""The README's trade-off figure, the records it was drawn from (nbs/images/pareto.csv) and 08_reproduce's committed
output agree: a figure or a lesson that moved on without the other fails here (redraw with `make readme-figure`)."""
import json, re
from pathlib import Path

from PIL import Image

from dwm_tutorial.report import records_digest
from dwm_tutorial.transfer import load_results

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / 'nbs' / 'images'


def kept_digest():
    return records_digest(load_results(IMAGES / 'pareto.csv'))


def test_the_png_says_it_was_drawn_from_the_kept_records():
    drawn = Image.open(IMAGES / 'pareto.png').text.get('records-digest')
    assert drawn == kept_digest(), (f"nbs/images/pareto.png was drawn from records with digest {drawn}, nbs/images/pareto.csv "
                                    f"has {kept_digest()}: run make readme-figure")


def test_the_kept_records_are_those_20_reproduce_plotted():
    nb = json.loads((ROOT / 'nbs' / 'tutorials' / '08_reproduce.ipynb').read_text())
    printed = [m for c in nb['cells'] if c['cell_type'] == 'code' for o in c.get('outputs', []) if o.get('output_type') == 'stream'
               for m in re.findall(r'(\d+) records, digest ([0-9a-f]{16})', ''.join(o['text']))]
    assert len(printed) == 1, f"08_reproduce's committed output should print one records digest, found {printed}"
    n, digest = printed[0]
    assert (int(n), digest) == (len(load_results(IMAGES / 'pareto.csv')), kept_digest()), \
        "08_reproduce plotted other records than the README's figure shows: re-run it on the full data, then make readme-figure"


def test_the_readme_shows_that_figure():
    assert '(nbs/images/pareto.png)' in (ROOT / 'README.md').read_text()
