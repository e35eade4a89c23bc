"""Training and evaluation throughput of the small CNN (images/s), batch 128, on this machine's CPU
(or the GPU when present). Writes bench/results/train_throughput.json and prints a table.

Usage: python bench/train_throughput.py [--steps 60] [--device cpu]"""
import argparse, json, platform, time
from pathlib import Path

import torch
import torch.nn.functional as F

from dwm_tutorial.data import atomic_write, fashion_mnist, make_loader
from dwm_tutorial.models import SmallCNN
from dwm_tutorial.train import get_device, set_seed


def timed_steps(model, opt, batches, dev):
    t = time.perf_counter()
    for xb, yb in batches:
        xb, yb = xb.to(dev), yb.to(dev)
        loss = F.cross_entropy(model(xb), yb); opt.zero_grad(); loss.backward(); opt.step()
    if dev.type == 'cuda': torch.cuda.synchronize()
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--steps', type=int, default=60); ap.add_argument('--device', default=None)
    ap.add_argument('--repeats', type=int, default=3)
    a = ap.parse_args()
    dev = get_device(a.device)
    ds = fashion_mnist('train', 'mini')
    batches = [b for _, b in zip(range(a.steps), make_loader(ds, bs=128, shuffle=True))]
    set_seed(0); model = SmallCNN().to(dev); opt = torch.optim.Adam(model.parameters(), 1e-3)
    timed_steps(model, opt, batches[:5], dev)                       # warm-up
    train_s = min(timed_steps(model, opt, batches, dev) for _ in range(a.repeats))
    model.eval()
    with torch.no_grad():
        t = time.perf_counter()
        for xb, _ in batches: model(xb.to(dev))
        eval_s = time.perf_counter() - t
    n = sum(len(b[1]) for b in batches)
    res = dict(bench='train_throughput', model='SmallCNN', batch=128, steps=len(batches), device=str(dev),
               threads=torch.get_num_threads(), cpu=platform.processor() or platform.machine(), torch=torch.__version__,
               train_images_per_s=round(n / train_s, 1), eval_images_per_s=round(n / eval_s, 1),
               train_ms_per_step=round(1000 * train_s / len(batches), 2))
    out = Path(__file__).resolve().parent / 'results' / 'train_throughput.json'
    atomic_write(out, json.dumps(res, indent=2))
    for k in ('device', 'threads', 'train_images_per_s', 'eval_images_per_s', 'train_ms_per_step'): print(f'{k:>20}: {res[k]}')
    print(f'wrote {out.relative_to(Path(__file__).resolve().parents[1])}')


if __name__ == '__main__':
    main()
