"""Never a wrong number in silence: the source cache and the records are keyed on everything, a results folder shared by
several runs loses nothing, damaged files cost only their damaged rows, Ctrl-C and SIGKILL leave a run that resumes."""
import csv, json, os, re, signal, subprocess, sys, time
from pathlib import Path

import pytest
from conftest import cli

from dwm_tutorial.cli import make_setting, parse_args
from dwm_tutorial.data import ImageDataset, read_split, root_files, split_validation

ROOT = Path(__file__).resolve().parent.parent
EXE = Path(sys.executable).parent / 'dwm-reproduce'
GRID = ['--shifts', 'rot90', '--methods', 'magnitude', '--sparsities', '0.5', '--protocols', 'protect', '--no-progress']




def rows(out):
    return list(csv.DictReader(open(Path(out) / 'results.csv', newline='')))


def dead_pid():
    return int(subprocess.run([sys.executable, '-c', 'import os; print(os.getpid())'], capture_output=True, text=True).stdout)


# `tiny` (a --root of 1,024 + 256 mini images) comes from conftest.py


def test_cache_and_records_keyed_on_everything(tmp_path, tiny):
    "A smoke run, then a real one into the same folder, gives what a fresh folder gives; --fresh keeps other settings' records."
    a, b = tmp_path / 'a', tmp_path / 'b'
    grid = [*GRID, '--root', str(tiny)]
    assert cli('--out', str(a), '--max-steps', '2', *grid)[0] == 0
    code, out_a, _ = cli('--out', str(a), '--max-steps', '5', *grid)
    assert code == 0
    code, out_b, _ = cli('--out', str(b), '--max-steps', '5', *grid)
    assert code == 0
    acc = lambda text: text.rsplit('source model accuracy', 1)[1].split(';')[0]
    assert acc(out_a) == acc(out_b)                                # the 2-step model was not reused for the 5-step setting
    five = lambda out: sorted((r['protocol'], r['source_before'], r['target_after']) for r in rows(out) if 'steps5' in r['setting'])
    assert five(a) == five(b)
    assert len({r['setting'] for r in rows(a)}) == 2 and len(rows(a)) == 4
    cached = a / 'cache' / 'source_root_val0.1_s0.pt'; stamp = cached.stat().st_mtime_ns
    code, _, _ = cli('--out', str(a), '--max-steps', '5', '--fresh', *grid)
    assert code == 0 and cached.stat().st_mtime_ns != stamp      # --fresh retrained the source model...
    assert len(rows(a)) == 4 and five(a) == five(b)              # ...recomputed this setting, and kept the other one's records
    # the same data from another folder is the same setting; other data is another one
    a1 = parse_args(['--out', str(tmp_path / 'c'), '--max-steps', '5', *grid])
    files = root_files(tiny); tr, te = read_split(files['train']), read_split(files['test'])
    other = ImageDataset(tr.images, tr.labels.roll(1), tr.classes)
    fit = lambda ds: split_validation(ds)[0]                      # the source model trains on the part left after the validation split
    assert make_setting(a1, fit(tr), te) == rows(b)[0]['setting'] != make_setting(a1, fit(other), te)


def test_damaged_files_warn_and_recover(tmp_path, tiny):
    "An unreadable cached model is retrained with a warning; a damaged results file keeps its good rows; stale files go; --root exact."
    out = tmp_path / 'out'
    args = ['--out', str(out), '--max-steps', '3', *GRID, '--root', str(tiny)]
    assert cli(*args)[0] == 0
    good = rows(out)
    (out / 'cache' / 'source_root_val0.1_s0.pt').write_bytes(b'cut short')
    text = (out / 'results.csv').read_text(); (out / 'results.csv').write_text(text[:-30])      # the last row cut short
    pid = dead_pid()
    for f in (out / f'.dwm-tmp.{pid}.abc123.results.csv', out / 'cache' / f'.dwm-tmp.{pid}.x_9.source_root_val0.1_s0.pt'): f.write_text('x')
    (out / f'.notes.{pid}.tmp').write_text('a user file that only looks temporary')
    (out / 'density.png').write_bytes(b'old')                                                   # a plot of an earlier run
    code, stdout, err = cli(*args)
    assert code == 0, err
    assert 'warning:' in err and 'row 2 (line 3), column' in err and 'computed again' in err
    assert 'could not be used' in err and 'source_root_val0.1_s0.pt' in err                         # the model was needed again
    assert [{k: v for k, v in r.items() if k != 'seconds'} for r in rows(out)] == \
           [{k: v for k, v in r.items() if k != 'seconds'} for r in good]                      # recomputed to the same numbers
    assert not list(out.rglob('.dwm-tmp.*'))                                                   # temporaries of dead runs swept...
    assert (out / f'.notes.{pid}.tmp').exists()                                                # ...and nothing else
    assert not (out / 'density.png').exists() and 'density.png' not in stdout                  # protect only: no mask to draw
    assert len(json.loads((out / 'results.json').read_text())) == len(good)
    # the same files in torchvision's layout are the same data, so the same setting: every record is reused
    raw = tmp_path / 'mine' / 'FashionMNIST' / 'raw'; raw.mkdir(parents=True)
    for f in tiny.iterdir(): (raw / f.name).write_bytes(f.read_bytes())
    code, stdout, _ = cli(*args[:-1], str(tmp_path / 'mine'))
    assert code == 0 and 'all runs reused' in stdout and len(rows(out)) == len(good)


def popen(*argv, **kw):
    env = {**os.environ, 'PYTHONUNBUFFERED': '1'}
    return subprocess.Popen([str(EXE), *argv], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, **kw)


def test_two_runs_share_one_out(tmp_path, tiny):
    "Two processes with different method lists write into one --out at the same time: every record of both is kept."
    out = tmp_path / 'out'
    base = ['--out', str(out), '--root', str(tiny), '--max-steps', '3', '--shifts', 'rot90', '--sparsities', '0.8', '--protocols', 'protect', 'isolate',
            '--no-progress']
    ps = [popen(*base, '--methods', m) for m in ('topk', 'magnitude')]
    for p in ps:
        _, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
    got = sorted((r['protocol'], r['method']) for r in rows(out))
    assert got == sorted([('finetune', 'none'), ('protect', 'topk'), ('isolate', 'topk'), ('protect', 'magnitude'),
                          ('isolate', 'magnitude')])
    assert len(json.loads((out / 'results.json').read_text())) == 5


def wait_for_rows(out, n, proc, timeout=300):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if proc.poll() is not None: return False
        try:
            if len(rows(out)) >= n: return True
        except (FileNotFoundError, csv.Error): pass
        time.sleep(0.05)
    return False


def test_ctrl_c_says_what_was_saved(tmp_path, tiny):
    out = tmp_path / 'out'
    p = popen('--out', str(out), '--root', str(tiny), '--max-steps', '30', '--shifts', 'rot90', '--methods', 'magnitude', 'random',
              '--sparsities', *[f'0.{i}' for i in range(1, 10)], '--protocols', 'protect', 'isolate', '--no-progress')
    # 37 records: far more than arrive between the first row and the signal, so the run cannot finish first (a race with 3 did)
    assert wait_for_rows(out, 1, p), p.communicate()
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 130, err
    assert 'Traceback' not in err and 'Run the same command again to resume' in err
    m = re.search(r'interrupted; (\d+) run record\(s\) of this session are saved in', err)
    assert m and int(m[1]) in (len(rows(out)) - 1, len(rows(out))), err      # (a record may land while the signal does)


@pytest.mark.slow
def test_kill_and_resume_gives_the_uninterrupted_results(tmp_path, tiny):
    """SIGKILL and SIGTERM at several points (during source training, after 1, 3 and 5 records), then a resume: the same records,
    timings aside, Gumbel's included (its noise comes from the run's seed, not from what the process did before)."""
    grid = ['--root', str(tiny), '--max-steps', '8', '--shifts', 'rot90', '--methods', 'topk', 'gumbel', 'magnitude', '--sparsities', '0.8',
            '--protocols', 'protect', 'isolate', 'adapt', '--no-progress']
    whole, part = tmp_path / 'whole', tmp_path / 'part'
    p = popen('--out', str(whole), *grid); _, err = p.communicate(timeout=600); assert p.returncode == 0, err
    for n, sig in ((0, signal.SIGKILL), (1, signal.SIGTERM), (3, signal.SIGKILL), (5, signal.SIGTERM)):
        p = popen('--out', str(part), *grid)
        if n == 0:
            t0 = time.time()
            while not (part / 'cache').exists() and p.poll() is None and time.time() - t0 < 120: time.sleep(0.02)
        else: assert wait_for_rows(part, n, p)
        p.send_signal(sig); p.wait()
        assert p.returncode == -sig
    p = popen('--out', str(part), *grid); _, err = p.communicate(timeout=600); assert p.returncode == 0, err
    strip = lambda out: sorted(json.dumps({k: v for k, v in r.items() if k != 'seconds'}, sort_keys=True) for r in rows(out))
    assert len(rows(whole)) == 9           # finetune; topk and gumbel: protect, isolate, adapt; magnitude: protect, isolate
    keys = [(r['method'], r['protocol']) for r in rows(part)]
    assert len(keys) == len(set(keys))                       # none duplicated...
    assert strip(part) == strip(whole)                       # ...none lost, every number the uninterrupted run's
    assert not list(part.rglob('.dwm-tmp.*'))
