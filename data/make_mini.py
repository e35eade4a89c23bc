"""Make the committed mini subset of Fashion-MNIST: data/fashion-mnist-mini/.

Stratified and deterministic: for every class, a seeded permutation of that class's
indices picks the first 1,000 train and 200 test images (10,000 / 2,000 in all), kept in
their original order. Files are gzipped IDX with a fixed timestamp, so the same input
always gives the same bytes. Prints the SHA-256 sums of the decompressed files, which
`dwm_tutorial.data.MINI_SHA256` records and checks on every load.

This folder is the one committed copy. The wheel carries it as package data
(`dwm_tutorial/fashion_mnist_mini/`, mapped in pyproject.toml's [tool.setuptools]), so a rebuilt
subset reaches the wheel with no second copy to update.

Usage:  python data/make_mini.py [--root FOLDER_WITH_FULL_FASHION_MNIST]
"""
import argparse, gzip, hashlib
from pathlib import Path

import torch

from dwm_tutorial.data import IDX_NAMES, MINI_NAME, fashion_mnist, write_idx

PER_CLASS = {'train': 1000, 'test': 200}
SEED = 0


def stratified(labels: torch.Tensor, per_class: int, seed: int) -> torch.Tensor:
    "Sorted indices: `per_class` seeded picks from every class."
    g = torch.Generator().manual_seed(seed)
    picks = []
    for c in labels.unique().tolist():
        idx = (labels == c).nonzero().flatten()
        if len(idx) < per_class: raise ValueError(f"class {c} has only {len(idx)} images, {per_class} needed")
        picks.append(idx[torch.randperm(len(idx), generator=g)[:per_class]])
    return torch.cat(picks).sort().values


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--root', default=None, help='folder holding the full Fashion-MNIST idx files')
    args = ap.parse_args()
    out = Path(__file__).resolve().parent / MINI_NAME
    out.mkdir(exist_ok=True)
    for split, (img_name, lbl_name) in IDX_NAMES.items():
        full = fashion_mnist(split, 'full', root=args.root, download=False)
        keep = stratified(full.labels, PER_CLASS[split], SEED)
        images = full.images[keep].squeeze(1)
        labels = full.labels[keep].to(torch.uint8)
        for name, t in ((img_name, images), (lbl_name, labels)):
            write_idx(t, out / f'{name}.gz')
            digest = hashlib.sha256(gzip.open(out / f'{name}.gz').read()).hexdigest()
            print(f"    '{name}': '{digest}',")


if __name__ == '__main__':
    main()
