"""Wall and CPU time of the quick default (`dwm-reproduce` with no flags, what `make reproduce` runs) from an empty --out.
Writes bench/results/quick_run.json (wall, CPU = user+sys of the child, load when it started, threads, torch version,
the run's first line and its table) and prints a summary. The issue's target: under 180 s wall on an idle 2-core CPU;
a load above 1 when it starts means the machine was shared and the wall time is inflated (the CPU time much less so).

Usage: python bench/quick_run.py [--keep DIR] [extra dwm-reproduce flags, e.g. --min-steps 200 to time the old budget]"""
import argparse, csv, datetime, json, os, platform, resource, subprocess, sys, tempfile, time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / 'bench' / 'results' / 'quick_run.json'


def write_json(path, obj):
    "Atomically: a temporary file beside `path`, then a rename."
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix='.quick_run.', suffix='.tmp')
    try:
        with os.fdopen(fd, 'w') as f: json.dump(obj, f, indent=2); f.write('\n')
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True); raise


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--keep', help='write the results into this (new or empty) folder and keep them (default: a temporary one)')
    a, extra = ap.parse_known_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(a.keep or Path(tmp) / 'results')
        if out.exists() and any(out.iterdir()): sys.exit(f'quick_run: --keep {a.keep} is not empty; the bench starts from an empty --out')
        cmd = [sys.executable, '-m', 'dwm_tutorial', '--out', str(out), '--no-progress', *extra]
        load = os.getloadavg()
        ru0, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
        r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        wall, ru1 = time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_CHILDREN)
        if r.returncode != 0: sys.exit(f'quick_run: dwm-reproduce failed ({r.returncode}):\n{r.stderr[-3000:]}')
        rows = list(csv.DictReader(open(out / 'results.csv')))
    user, sys_ = ru1.ru_utime - ru0.ru_utime, ru1.ru_stime - ru0.ru_stime
    lines = [x.replace(str(out), '<empty --out>') for x in r.stdout.splitlines()]     # no path of this machine stored
    res = dict(bench='quick_run', command='dwm-reproduce ' + ' '.join(['--no-progress', *extra]), from_empty_out=True,
               wall_s=round(wall, 1), cpu_s=round(user + sys_, 1), user_s=round(user, 1), sys_s=round(sys_, 1),
               load_at_start=[round(x, 2) for x in load], quiet=load[0] < 1.0, cpus=os.cpu_count(),
               threads=torch.get_num_threads(), torch=torch.__version__, python=platform.python_version(),
               machine=platform.machine(), date=datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
               target_s=180, plan=lines[0] if lines else '',
               records=[{k: x[k] for k in ('method', 'protocol', 'sparsity', 'source_after', 'target_after', 'retention',
                                            'relative_target', 'bits_per_weight')} for x in rows],
               output=lines[1:])
    write_json(OUT, res)
    print('\n'.join(lines))
    print(f"\nquick run: {res['wall_s']} s wall, {res['cpu_s']} s CPU (user {res['user_s']} + sys {res['sys_s']}), "
          f"{res['threads']} threads, torch {res['torch']}, load at start {res['load_at_start'][0]} "
          f"({'quiet' if res['quiet'] else 'shared machine: the wall time is inflated'}); target < 180 s wall")
    print(f'wrote {OUT.relative_to(ROOT)}')


if __name__ == '__main__':
    main()
