"""Learned masks on any data budget: reached sparsity and masked source accuracy of every mask method,
for source sets of 2,000, 10,000 (the committed mini subset) and 60,000 images, one mask epoch each.

For each size a SmallCNN source model is trained on that set (`train_source`, cached under results/cache),
then every method masks it at sparsity 0.5 / 0.8 / 0.9 (learned methods: one epoch of `learn_masks`,
which takes at least `MIN_STEPS` steps, cycling small sets). Reported per cell: the sparsity reached, the
masked source accuracy, the unmasked source accuracy, the optimizer steps and the seconds. The 2,000-image
set is a seeded random subset of the full training set; 2k and 60k are tested on the full test set, the
mini subset on its own 2,000 test images. Written to bench/results/mask_budget.json.

Usage: python bench/mask_budget.py [--sizes 2000 mini 60000] [--methods ...] [--sparsities 0.5 0.8 0.9] [--redo]
(finished cells in the JSON are kept unless --redo)"""
import argparse, copy, json, time
from pathlib import Path

import torch

from dwm_tutorial.data import atomic_write, fashion_mnist, random_subset
from dwm_tutorial.masks import LEARNED, add_masks, learn_masks, sparsity as mask_sparsity
from dwm_tutorial.train import cache_dir, evaluate, set_seed, train_source

ROOT = Path(__file__).resolve().parent.parent


def source_sets(size):
    if size == 'mini': return fashion_mnist('train', 'mini'), fashion_mnist('test', 'mini')
    full_train, full_test = fashion_mnist('train'), fashion_mnist('test')
    n = int(size)
    return (full_train if n >= len(full_train) else random_subset(full_train, n, seed=0)), full_test


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--sizes', nargs='+', default=['2000', 'mini', '60000'])
    ap.add_argument('--methods', nargs='+', default=['ste', 'gumbel', 'topk', 'magnitude', 'random'])
    ap.add_argument('--sparsities', nargs='+', type=float, default=[0.5, 0.8, 0.9])
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--out', default=str(ROOT / 'bench' / 'results' / 'mask_budget.json'))
    ap.add_argument('--redo', action='store_true', help='recompute the chosen cells even if the JSON already has them')
    a = ap.parse_args()
    torch.set_num_threads(torch.get_num_threads())
    out = Path(a.out)
    cells = json.loads(out.read_text())['cells'] if out.exists() else []
    done = set() if a.redo else {(c['size'], c['method'], c['target_sparsity']) for c in cells}
    for size in a.sizes:
        train, test = source_sets(size)
        src, meta = train_source(train, test, cache=cache_dir() / f'bench_source_{size}_s{a.seed}.pt', seed=a.seed, progress=False)
        base = meta['source_acc']
        print(f"size {size}: {len(train)} source images, unmasked source accuracy {base:.4f}")
        for method in a.methods:
            for sp in a.sparsities:
                if (str(size), method, sp) in done: continue
                t0 = time.perf_counter()
                net = copy.deepcopy(src); add_masks(net, method, sparsity=sp, seed=a.seed)
                steps = 0
                if method in LEARNED:
                    set_seed(a.seed)
                    steps = learn_masks(net, train, epochs=1, seed=a.seed, progress=False).steps
                acc = evaluate(net, test)
                cell = dict(size=str(size), n_images=len(train), method=method, target_sparsity=sp,
                            sparsity=round(mask_sparsity(net), 5), masked_acc=round(acc, 4), source_acc=round(base, 4),
                            steps=steps, seconds=round(time.perf_counter() - t0, 1))
                cells = [c for c in cells if (c['size'], c['method'], c['target_sparsity']) != (str(size), method, sp)] + [cell]
                print(f"  {method:>9} {sp:.1f}: reached {cell['sparsity']:.4f}, masked acc {acc:.4f} "
                      f"({acc / base:.3f} of unmasked), {steps} steps, {cell['seconds']:.0f}s", flush=True)
                res = dict(bench='mask_budget', model='SmallCNN', threads=torch.get_num_threads(), torch=torch.__version__,
                           device='cpu' if not torch.cuda.is_available() else 'cuda', cells=cells)
                atomic_write(out, json.dumps(res, indent=1))
    print(f"wrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")


if __name__ == '__main__':
    main()
