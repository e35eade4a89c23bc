"""Storage of a chain of domains on one network: bits per weight, beyond ONE stored network, to serve every
domain, with one bit-mask per earlier domain (the old encoding) and with one owner id per masked weight
(`dwm_tutorial.sequence.chain_store`, what `save_chain` writes), against PackNet's owner-id figure
(ceil(log2 K) bits per weight plus a head per extra domain), with the saved file's size beside it.

The isolate chain (topk masks) on the mini subset at the package's default step budget (every stage at least
MIN_STEPS optimizer steps), so the domains' own heads and biases move as much as in a real run (their XOR
against the stored network is what compresses). Writes bench/results/chain_storage.json.

Usage: python bench/chain_storage.py [--domains 2 3 4 6] [--train-size 2000]"""
import argparse, json, math, os, platform, tempfile, time
from pathlib import Path

import torch

from dwm_tutorial.data import atomic_write
from dwm_tutorial.sequence import SEQUENCE, fashion_sequence, load_chain, fingerprint, run_chain, save_chain
from dwm_tutorial.train import MIN_STEPS, train_source

ROOT = Path(__file__).resolve().parent.parent


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--domains', nargs='+', type=int, default=[2, 3, 4, 6])
    ap.add_argument('--train-size', type=int, default=2000)
    ap.add_argument('--method', default='topk')
    a = ap.parse_args()
    doms = fashion_sequence(SEQUENCE, 'mini', train_size=a.train_size, test_size=500)
    src, _ = train_source(doms[0].train, epochs=1, progress=False)
    head = src.head.weight.numel() + src.head.bias.numel()
    rows, t0, c0 = [], time.perf_counter(), time.process_time()
    for K in a.domains:
        r = run_chain(src, doms[:K], 'isolate', a.method, progress=False)
        with tempfile.TemporaryDirectory() as d:
            parts = save_chain(r.networks, Path(d) / 'c.chain')
            size = (Path(d) / 'c.chain').stat().st_size
            same = [fingerprint(n) for n in load_chain(Path(d) / 'c.chain')] == [fingerprint(n) for n in r.networks]
        packnet = math.ceil(math.log2(K)) + (K - 1) * 32 * head / r.n_params
        rows.append(dict(domains=K, bitmask_bits_per_weight=round(r.bitmask_bits / r.n_params, 4),
                         owner_id_bits_per_weight=r.bits_per_weight, packnet_bits_per_weight=round(packnet, 4),
                         at_or_below_packnet=r.bits_per_weight <= packnet, storage_bits=r.storage_bits,
                         file_bytes=size, parts=parts, file_minus_header_and_network=size - parts['magic'] - parts['header'] - parts['network'],
                         rebuilt_bitwise=same, encoding=r.encoding, average=round(r.average, 4), stage_steps=r.stage_steps))
        print(f"K={K}: bit-masks {rows[-1]['bitmask_bits_per_weight']:.3f}, owner ids {r.bits_per_weight:.3f}, PackNet {packnet:.3f} "
              f"bits/weight; file {size} B = {parts}; rebuilt bitwise: {same}", flush=True)
    out = dict(what=__doc__.splitlines()[0], method=a.method, train_size=a.train_size, min_steps=MIN_STEPS, rows=rows,
               torch=torch.__version__, threads=torch.get_num_threads(), cpu_count=os.cpu_count(), machine=platform.machine(),
               wall_s=round(time.perf_counter() - t0, 1), cpu_s=round(time.process_time() - c0, 1), load_avg=os.getloadavg())
    atomic_write(ROOT / 'bench' / 'results' / 'chain_storage.json',
                 lambda t: Path(t).write_text(json.dumps(out, indent=1)) if isinstance(t, (str, os.PathLike)) else t.write(json.dumps(out, indent=1).encode()))


if __name__ == '__main__':
    main()
