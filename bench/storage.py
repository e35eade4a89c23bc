"""Storage of each protocol: the bits needed, beyond ONE stored network, to serve both the source and the
target, as `dwm_tutorial.transfer.storage_bits` measures them from the networks a run produced, against
a full copy of the weights (32 bits per parameter), and the size of what you would actually save, packed.

For the small CNN on the mini subset, one short run per protocol (and per mask method for the masked
protocols, at each sparsity). Storage does not depend on how long a run trains, so a few steps suffice.
Writes bench/results/storage.json.

Usage: python bench/storage.py [--sparsities 0.5 0.8 0.9]"""
import argparse, io, json
from pathlib import Path

import torch

from dwm_tutorial.data import atomic_write, fashion_domains
from dwm_tutorial.train import set_seed, train_source
from dwm_tutorial.transfer import isolated_source, kept_for, source_mask, transfer, view_state

ROOT = Path(__file__).resolve().parent.parent


def saved_bits(source_view, target_view):
    "Bits of the packed payload you would save (masks as uint8 bytes, tensors at their precision), storing the cheaper view."
    best = None
    for base in (source_view, target_view):
        b = view_state(base)[0]
        payload = [kept_for(v, b) for v in (source_view, target_view)]
        bits = sum(8 * p['bits'].numel() for k in payload for p in k['masks'].values()) \
             + sum(8 * t.numel() * t.element_size() for k in payload for t in k['tensors'].values())
        best = bits if best is None else min(best, bits)
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--sparsities', nargs='+', type=float, default=[0.5, 0.8, 0.9])
    a = ap.parse_args()
    dom = fashion_domains('rot90', 'mini')
    set_seed(0)
    src, _ = train_source(dom.source_train, epochs=1, max_steps=20, progress=False)
    n = sum(p.numel() for p in src.parameters())
    kw = dict(max_steps=3, progress=False)
    rows = []
    r, net = transfer(src, *dom[:4], 'finetune', None, None, return_model=True, **kw)
    rows.append(dict(protocol='finetune', method='none', sparsity=None, bits=r.storage_bits, saved_bits=saved_bits(src, net)))
    for sp in a.sparsities:
        for proto, methods in (('protect', ('topk', 'magnitude')), ('isolate', ('topk', 'magnitude')), ('adapt', ('ste', 'gumbel', 'topk'))):
            for m in methods:
                sm = source_mask(src, dom.source_train, dom.source_test, m, sp, max_steps=3, progress=False) if proto != 'adapt' else None
                r, net = transfer(src, *dom[:4], proto, m, sp, return_model=True, src_mask=sm, **kw)
                views = {'protect': (net, net), 'isolate': (isolated_source(src, net, sm.masks) if sm else None, net),
                         'adapt': (src, net)}[proto]
                rows.append(dict(protocol=proto, method=m, sparsity=sp, reached=r.sparsity, bits=r.storage_bits,
                                 saved_bits=saved_bits(*views)))
    for r in rows: r.update(bits_per_weight=round(r['bits'] / n, 4), vs_full_copy=round(r['bits'] / (32 * n), 4))
    res = dict(bench='storage', model='SmallCNN', parameters=n, full_copy_bits=32 * n, threads=torch.get_num_threads(),
               torch=torch.__version__, results=rows)
    out = ROOT / 'bench' / 'results' / 'storage.json'
    atomic_write(out, json.dumps(res, indent=2))
    print(f"{'protocol':>9} {'method':>9} {'sparsity':>8} {'bits':>11} {'saved bits':>11} {'bits/weight':>11}")
    for r in rows: print(f"{r['protocol']:>9} {r['method']:>9} {str(r['sparsity']):>8} {r['bits']:>11,} {r['saved_bits']:>11,} {r['bits_per_weight']:>11.4f}")
    print(f'wrote {out.relative_to(ROOT)}')


if __name__ == '__main__':
    main()
