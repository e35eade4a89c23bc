"""Draw the README's trade-off figure from the full reproduction's records: `make readme-figure`.

08_reproduce runs `dwm-reproduce --full`, its controls and the tight regime (`--width 4`) into results/full/ and plots
their seed-0 records with `reproduction_figure(records)` (dwm_tutorial.cli), keeps them in results/full/figure.csv and
prints their `records_digest`.
This script takes those records (or the seed-0 records of the file given), keeps them in nbs/images/pareto.csv, and draws
nbs/images/pareto.png with the same call, the digest written into the PNG ("records-digest" text chunk).
tests/test_readme_figure.py checks that the PNG, the kept records and 08_reproduce's committed output agree, so a
figure that outlives its records fails the tests.

    python tools/readme_figure.py [RECORDS.csv]     # default: results/full/figure.csv
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / 'nbs' / 'images'


def main(argv):
    import matplotlib
    matplotlib.use('Agg')
    from dwm_tutorial.data import atomic_write
    from dwm_tutorial.cli import reproduction_figure
    from dwm_tutorial.report import records_digest
    from dwm_tutorial.transfer import load_results, save_results
    src = Path(argv[0]) if argv else ROOT / 'results' / 'full' / 'figure.csv'
    shown = src.resolve().relative_to(ROOT) if src.resolve().is_relative_to(ROOT) else src
    if not src.is_file():
        sys.exit(f"readme-figure: {shown} does not exist: run the reproduction first (nbs/tutorials/08_reproduce.ipynb on the "
                 f"full data writes it), or name a results.csv: make readme-figure RECORDS=path/to/results.csv")
    records = [r for r in load_results(src) if r.seed == 0]
    if not records: sys.exit(f"readme-figure: {shown} holds no seed-0 records")
    digest = records_digest(records)
    fig = reproduction_figure(records)
    save_results(records, IMAGES / 'pareto.csv')
    atomic_write(IMAGES / 'pareto.png', lambda t: fig.savefig(t, dpi=80, format='png', metadata={'records-digest': digest,
                                                                                                 'Software': None}))
    print(f"readme-figure: {len(records)} records (digest {digest}) -> nbs/images/pareto.csv, nbs/images/pareto.png")


if __name__ == '__main__':
    main(sys.argv[1:])
