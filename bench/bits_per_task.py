"""Bits stored per task by each protocol, against a full copy of the weights (32 bits per parameter).

For the small CNN on the mini subset, one short run per protocol (and per mask method for the masked
protocols, at each sparsity) records `bits_per_task` as `dwm_tutorial.transfer` counts it. Storage does not
depend on how long the run trains, so a few steps suffice. Writes bench/results/bits_per_task.json.

Usage: python bench/bits_per_task.py [--sparsities 0.5 0.8 0.9]"""
import argparse, json
from pathlib import Path

from dwm_tutorial.data import atomic_write, fashion_domains
from dwm_tutorial.train import set_seed, train_source
from dwm_tutorial.transfer import transfer


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--sparsities', nargs='+', type=float, default=[0.5, 0.8, 0.9])
    a = ap.parse_args()
    dom = fashion_domains('rot90', 'mini')
    set_seed(0)
    src, _ = train_source(dom.source_train, epochs=1, max_steps=20, progress=False)
    full = 32 * sum(p.numel() for p in src.parameters())
    kw = dict(max_steps=3, progress=False)
    rows = [dict(protocol='finetune', method='none', sparsity=None,
                 bits=transfer(src, *dom[:4], 'finetune', None, None, **kw).bits_per_task)]
    for sp in a.sparsities:
        for proto, methods in (('protect', ('topk', 'magnitude')), ('isolate', ('topk', 'magnitude')), ('adapt', ('ste', 'gumbel', 'topk'))):
            for m in methods:
                r = transfer(src, *dom[:4], proto, m, sp, **kw)
                rows.append(dict(protocol=proto, method=m, sparsity=sp, reached=r.sparsity, bits=r.bits_per_task))
    for r in rows: r['vs_full_copy'] = round(r['bits'] / full, 4)
    res = dict(bench='bits_per_task', model='SmallCNN', parameters=full // 32, full_copy_bits=full, results=rows)
    out = Path(__file__).resolve().parent / 'results' / 'bits_per_task.json'
    atomic_write(out, lambda t: Path(t).write_text(json.dumps(res, indent=2)))
    print(f"{'protocol':>9} {'method':>9} {'sparsity':>8} {'bits':>11} {'x full copy':>11}")
    for r in rows: print(f"{r['protocol']:>9} {r['method']:>9} {str(r['sparsity']):>8} {r['bits']:>11,} {r['vs_full_copy']:>11.4f}")
    print(f'wrote {out}')


if __name__ == '__main__':
    main()
