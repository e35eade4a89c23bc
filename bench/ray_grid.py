"""Serial vs Ray on this machine for the mini grid (the grid `dwm-reproduce` runs by default): wall time of the grid,
the ratio to the serial path, threads per run, whether the records are the serial path's (timings aside), the CPU time
of the driver and of Ray's workers, and the load. Writes bench/results/ray_grid.json and prints a table.

    .venv/bin/python bench/ray_grid.py                   # the mini grid as dwm-reproduce runs it
    .venv/bin/python bench/ray_grid.py --max-steps 20    # every stage capped at 20 steps (a quicker look)

The source model is trained once, before any timing. Ray is started (and its start timed) separately for each Ray
mode; the grid's wall time is measured from the first task submitted to the last record saved."""
import argparse, json, os, platform, sys, time
from dataclasses import asdict
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from dwm_tutorial.cli import QUICK
from dwm_tutorial.data import atomic_write, fashion_mnist, make_domains, random_subset
from dwm_tutorial.scale import RayExecutor, init_ray, require_ray
from dwm_tutorial.train import train_source
from dwm_tutorial.transfer import plan_runs, run_grid


def ray_worker_cpu() -> float:
    "CPU seconds (user + sys) of this machine's Ray worker processes (their command lines start with 'ray::')."
    tick, total = os.sysconf('SC_CLK_TCK'), 0.0
    for p in Path('/proc').iterdir():
        if not p.name.isdigit(): continue
        try:
            if not (p / 'cmdline').read_bytes().startswith(b'ray::'): continue
            f = (p / 'stat').read_text().rsplit(')', 1)[1].split()
            total += (int(f[11]) + int(f[12])) / tick
        except OSError: pass
    return total


def strip(recs):
    return [{k: v for k, v in asdict(r).items() if k != 'seconds'} for r in recs]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--max-steps', type=int, default=None, help='cap on every stage (default: none, the real mini grid)')
    ap.add_argument('--out', default=str(ROOT / 'bench' / 'results' / 'ray_grid.json'))
    a = ap.parse_args()
    ray = require_ray()
    os.environ.setdefault('RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER', '0')      # nodes on 127.0.0.1
    tr, te = fashion_mnist('train', 'mini'), fashion_mnist('test', 'mini')
    model, _ = train_source(tr, te, epochs=2, seed=0, progress=False, max_steps=a.max_steps)
    targets = {}
    for s in QUICK['shifts']:
        dom = make_domains(tr, te, s, 0)
        targets[s] = (random_subset(dom.target_train, QUICK['target_size'], 0), dom.target_test)
    plan = plan_runs(QUICK['shifts'], QUICK['methods'], QUICK['sparsities'], QUICK['protocols'])
    kw = dict(progress=False, epochs=1, mask_epochs=1, max_steps=a.max_steps)
    threads, cores = torch.get_num_threads(), os.cpu_count()
    rows, ref = [], None
    for mode, per_run in (('serial', threads), ('ray', threads), ('ray', 1)):
        load0, c0, t0 = os.getloadavg()[0], os.times(), time.perf_counter()
        init = None
        if mode == 'ray':
            init_ray(address='local', num_cpus=cores)     # a Ray of its own, even beside a running cluster
            init = time.perf_counter() - t0; t0 = time.perf_counter()
        recs = run_grid(model, tr, te, targets, plan, executor='serial' if mode == 'serial' else RayExecutor(threads=per_run), **kw)
        wall, c1 = time.perf_counter() - t0, os.times()
        workers = ray_worker_cpu() if mode == 'ray' else 0.0
        if mode == 'ray': ray.shutdown()
        ref = ref or strip(recs)
        rows.append(dict(mode=mode, threads_per_run=per_run, runs_at_once=1 if mode == 'serial' else cores // per_run,
                         ray_start_seconds=None if init is None else round(init, 1), grid_seconds=round(wall, 1),
                         driver_cpu_seconds=round(c1.user + c1.system - c0.user - c0.system, 1),
                         ray_workers_cpu_seconds=round(workers, 1), identical_to_serial=strip(recs) == ref,
                         load_before=round(load0, 2), load_after=round(os.getloadavg()[0], 2)))
        print(rows[-1], flush=True)
    for r in rows: r['ratio_to_serial'] = round(r['grid_seconds'] / rows[0]['grid_seconds'], 2)
    res = dict(bench='ray_grid', grid='mini (dwm-reproduce default)', runs=len(plan), records=len(ref), max_steps=a.max_steps,
               cores=cores, torch_threads=threads, torch=torch.__version__, ray=ray.__version__, python=platform.python_version(),
               cpu=platform.processor() or platform.machine(), results=rows,
               expect=("Runs of one seed are independent once its source model exists, so on N cores with T torch threads "
                       "per run Ray runs about N/T of them at once: the grid's wall time is about the serial time x T/N "
                       "plus Ray's start, until there are fewer runs than slots (this grid has %d). With T = the serial "
                       "path's threads (the default, records identical to the serial path's) a 2-core machine gains nothing; "
                       "T = 1 trades the last digits of some records for runs at once." % len(plan)),
               note="measured on a machine shared with other jobs: compare the ratio with the load columns; the lead may re-run at a quiet moment")
    atomic_write(Path(a.out), json.dumps(res, indent=1) + '\n')
    print(f"{'mode':<7}{'threads/run':>12}{'start s':>9}{'grid s':>9}{'ratio':>7}{'identical':>10}{'load':>7}")
    for r in rows:
        print(f"{r['mode']:<7}{r['threads_per_run']:>12}{str(r['ray_start_seconds'] or '-'):>9}{r['grid_seconds']:>9}"
              f"{r['ratio_to_serial']:>7}{str(r['identical_to_serial']):>10}{r['load_before']:>7}")
    print(f"wrote {Path(a.out).relative_to(ROOT) if Path(a.out).resolve().is_relative_to(ROOT) else a.out}")


if __name__ == '__main__':
    main()
