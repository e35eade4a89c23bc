"""Cost of a training step with weight masks, per method, against the plain step and against
torch.nn.utils.prune's fixed mask (the peer), measured side by side: SmallCNN, batch 128, CPU by default.

Every variant runs its steps in interleaved rounds (plain, prune, ste, gumbel, topk, magnitude, random,
plain, ...) so that machine noise hits them alike; the median step time of each is reported, and the
ratios to the plain step and to the prune peer are written to bench/results/mask_step.json.

Usage: python bench/mask_step.py [--rounds 15] [--steps 5] [--device cpu]"""
import argparse, copy, json, statistics, time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.nn.utils import prune

from dwm_tutorial.data import atomic_write, fashion_mnist
from dwm_tutorial.masks import DEFAULTS, LEARNED, add_masks, get_masks
from dwm_tutorial.models import SmallCNN
from dwm_tutorial.train import get_device, set_seed

METHODS = ('ste', 'gumbel', 'topk', 'magnitude', 'random')


def variants(dev):
    set_seed(0); base = SmallCNN().to(dev)
    out = {'plain': (base, torch.optim.Adam(base.parameters(), 1e-3))}
    for m in METHODS:
        net = copy.deepcopy(base); add_masks(net, m, sparsity=0.8)
        scores = {id(q) for n, q in net.named_parameters() if 'scores' in n}
        for p in net.parameters():   # learned masks train only their scores; fixed ones train every weight under the mask, as prune does
            p.requires_grad_(id(p) in scores if m in LEARNED else True)
        params = [p for p in net.parameters() if p.requires_grad]
        out[m] = (net, torch.optim.Adam(params, DEFAULTS.get(m, {}).get('lr', 1e-3)))
    peer = copy.deepcopy(base); ref = copy.deepcopy(base); add_masks(ref, 'magnitude', sparsity=0.8)
    for n, mk in get_masks(ref).items(): prune.custom_from_mask(peer.get_submodule(n), 'weight', mk.float())
    out['prune'] = (peer, torch.optim.Adam([p for p in peer.parameters() if p.requires_grad], 1e-3))
    return out


def step(model, opt, xb, yb):
    loss = F.cross_entropy(model(xb), yb); opt.zero_grad(set_to_none=True); loss.backward(); opt.step()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--rounds', type=int, default=15); ap.add_argument('--steps', type=int, default=5)
    ap.add_argument('--device', default=None)
    a = ap.parse_args()
    dev = get_device(a.device)
    ds = fashion_mnist('train', 'mini')
    xb, yb = ds[list(range(128))]; xb, yb = xb.to(dev), yb.to(dev)
    vs = variants(dev)
    for model, opt in vs.values():
        model.train()
        for _ in range(3): step(model, opt, xb, yb)            # warm-up
    times = {k: [] for k in vs}
    for _ in range(a.rounds):
        for k, (model, opt) in vs.items():
            t = time.perf_counter()
            for _ in range(a.steps): step(model, opt, xb, yb)
            if dev.type == 'cuda': torch.cuda.synchronize()
            times[k].append((time.perf_counter() - t) / a.steps)
    med = {k: statistics.median(v) for k, v in times.items()}
    rows = {k: dict(ms_per_step=round(1000 * med[k], 2), vs_plain=round(med[k] / med['plain'], 3),
                    vs_prune=round(med[k] / med['prune'], 3)) for k in vs}
    res = dict(bench='mask_step', model='SmallCNN', batch=128, sparsity=0.8, device=str(dev), threads=torch.get_num_threads(),
               torch=torch.__version__, rounds=a.rounds, steps_per_round=a.steps, results=rows,
               targets=dict(vs_plain_max=1.05, vs_prune_max=1.05))
    out = Path(__file__).resolve().parent / 'results' / 'mask_step.json'
    atomic_write(out, json.dumps(res, indent=2))
    print(f"{'variant':>10}  {'ms/step':>8}  {'x plain':>8}  {'x prune':>8}")
    for k, r in rows.items(): print(f"{k:>10}  {r['ms_per_step']:8.2f}  {r['vs_plain']:8.3f}  {r['vs_prune']:8.3f}")
    print(f'wrote {out.relative_to(Path(__file__).resolve().parents[1])}')


if __name__ == '__main__':
    main()
