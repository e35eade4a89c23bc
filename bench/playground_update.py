"""Time of one sparsity-playground update (slider move -> masks recomputed, source and target accuracy
re-evaluated on 1,000 images each, figure redrawn), per method, on the CPU. Target: well under 1 second.
Writes bench/results/playground_update.json.

Usage: python bench/playground_update.py [--repeats 7]"""
import argparse, json, statistics, time
from pathlib import Path

import matplotlib; matplotlib.use('Agg')
import matplotlib.pyplot as plt
import torch

from dwm_tutorial.data import atomic_write, fashion_domains
from dwm_tutorial.train import train_source
from dwm_tutorial.widgets import Playground, draw


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--repeats', type=int, default=7)
    a = ap.parse_args()
    dom = fashion_domains('rot90', 'mini')
    src, _ = train_source(dom.source_train, epochs=1, progress=False)
    pg = Playground(src, {'source': dom.source_test, 'target': dom.target_test}, dom.source_train, n_eval=1000)
    pg.retrain('gumbel', 0.8, steps=30, progress=False); pg.retrain('ste', 0.8, steps=30, progress=False)
    fig = plt.figure(figsize=(9, 3.2))
    rows = {}
    for method in pg.methods:
        times = []
        for i in range(a.repeats):
            sp = [0.5, 0.8, 0.9, 0.95][i % 4]
            t = time.perf_counter(); draw(pg.update(method, sp), fig); fig.canvas.draw(); times.append(time.perf_counter() - t)
        rows[method] = dict(median_ms=round(1000 * statistics.median(times), 1), max_ms=round(1000 * max(times), 1))
    res = dict(bench='playground_update', device='cpu', threads=torch.get_num_threads(), n_eval_per_set=1000, eval_sets=2,
               parameters_masked=sum(s.numel() for s in pg.scores['topk'].values()), results=rows, target_ms=1000)
    out = Path(__file__).resolve().parent / 'results' / 'playground_update.json'
    atomic_write(out, json.dumps(res, indent=2))
    for k, r in rows.items(): print(f"{k:>10}: median {r['median_ms']:7.1f} ms, max {r['max_ms']:7.1f} ms")
    print(f'wrote {out}')


if __name__ == '__main__':
    main()
