"`dwm-reproduce --sequence` saves each chain as it finishes: killed at several points (SIGTERM, SIGKILL, Ctrl-C) and run again it ends with the uninterrupted run's records, none lost or duplicated; two writers into one folder lose nothing; one source model shared with the grid (issues 25, 23)."
import os, signal, subprocess, sys, time
from dataclasses import asdict
from pathlib import Path

import pytest

from dwm_tutorial.sequence import load_chains

pytestmark = pytest.mark.slow
EXE = str(Path(sys.executable).parent / 'dwm-reproduce')
BASE = ['--sequence', 'rot90', '--max-steps', '2', '--target-size', '256', '--no-progress']
ARGS = BASE + ['--seeds', '0', '1']      # the default gumbel masks: seeded by the run's seed, so a resumed chain is the same chain


def _cli(out, *extra, args=ARGS):
    return subprocess.run([EXE, *args, *extra, '--out', str(out)], capture_output=True, text=True, timeout=1200)


def _records(out) -> dict:
    "Records by key, wall time left out (the only field that may differ between runs)."
    return {r.key(): {k: v for k, v in asdict(r).items() if k != 'seconds'} for r in load_chains(Path(out) / 'sequence.csv')}


def _saved(out) -> int:
    try: return len(load_chains(Path(out) / 'sequence.csv'))
    except (OSError, ValueError): return 0


@pytest.fixture(scope='module')
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp('ref')
    r = _cli(out)
    assert r.returncode == 0, r.stderr
    recs = _records(out)
    assert len(recs) == 8                                                   # 4 chains x 2 seeds
    assert load_chains(out / 'sequence.json') == load_chains(out / 'sequence.csv')
    return recs


def _kill_after(out, n_saved, sig, extra=()):
    p = subprocess.Popen([EXE, *ARGS, *extra, '--out', str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    t0 = time.time()
    while p.poll() is None and _saved(out) < n_saved and time.time() - t0 < 900: time.sleep(0.05)
    if n_saved == 0: time.sleep(2)                                          # while the source model trains
    assert p.poll() is None, 'the run ended before the signal'
    p.send_signal(sig)
    _, err = p.communicate(timeout=120)
    return p.returncode, err


@pytest.mark.parametrize('n_saved,sig', [(0, signal.SIGKILL), (1, signal.SIGTERM), (3, signal.SIGKILL), (5, signal.SIGTERM)])
def test_killed_and_resumed_equals_uninterrupted(reference, tmp_path, n_saved, sig):
    out = tmp_path / 'r'
    _kill_after(out, n_saved, sig)
    before = _records(out) if (out / 'sequence.csv').exists() else {}
    assert len(before) >= n_saved and all(before[k] == reference[k] for k in before)      # what was saved is already final
    r = _cli(out)
    assert r.returncode == 0, r.stderr
    assert _records(out) == reference                                       # none lost, none duplicated, same numbers
    assert len(load_chains(out / 'sequence.csv')) == 8
    left = [p.name for f in (out, out / 'cache') for p in f.iterdir() if 'tmp' in p.name]
    assert left == []                                                       # the killed run's temporaries were swept


def test_ctrl_c_says_what_was_saved(reference, tmp_path):
    out = tmp_path / 'r'
    code, err = _kill_after(out, 2, signal.SIGINT)
    assert code == 130
    n = _saved(out)
    assert f'{n} chain record(s) of this session are saved in' in err and 'sequence.csv' in err, err
    assert 'the source model is cached' in err and 'source_mini_s0.pt' in err and str(tmp_path) not in err.replace(str(out), '')
    assert _cli(out).returncode == 0 and _records(out) == reference


def test_two_writers_lose_nothing(reference, tmp_path):
    out = tmp_path / 'r'
    ps = [subprocess.Popen([EXE, *ARGS, '--out', str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    ste = subprocess.Popen([EXE, *BASE, '--methods', 'ste', '--protocols', 'isolate', '--out', str(out)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for p in ps + [ste]: assert p.wait(timeout=1500) == 0, p.stderr.read()
    got = _records(out)
    assert {k: v for k, v in got.items() if k[1] != 'ste'} == reference    # the same command twice: identical, none duplicated
    assert len(got) == 9 and any(k[:2] == ('isolate', 'ste') for k in got)  # the other setting's record kept beside them


def test_fresh_retrains_and_the_grid_keeps_its_own_source_model(tmp_path):
    "The grid trains its source model without the validation split and the sequence on the whole set: two cached models, neither overwrites the other; --fresh retrains the sequence's."
    out = tmp_path / 'r'
    grid = subprocess.run([EXE, '--shifts', 'rot90', '--methods', 'topk', '--protocols', 'isolate', '--max-steps', '2', '--no-progress',
                           '--out', str(out)], capture_output=True, text=True, timeout=1200)
    assert grid.returncode == 0, grid.stderr
    (grid_model,) = sorted((out / 'cache').glob('source_*.pt'))
    assert grid_model.name == 'source_mini_val0.1_s0.pt'
    t_grid = grid_model.stat().st_mtime_ns
    args = ['--sequence', 'rot90', '--max-steps', '2', '--target-size', '256', '--no-progress', '--methods', 'topk', '--protocols', 'copies']
    assert _cli(out, args=args).returncode == 0
    seq_model = out / 'cache' / 'source_mini_s0.pt'
    assert sorted(p.name for p in (out / 'cache').glob('source_*.pt')) == ['source_mini_s0.pt', 'source_mini_val0.1_s0.pt']
    t = seq_model.stat().st_mtime_ns
    assert _cli(out, args=args).returncode == 0 and seq_model.stat().st_mtime_ns == t      # reused
    assert _cli(out, '--fresh', args=args).returncode == 0
    assert seq_model.stat().st_mtime_ns != t                                # --fresh trained it again
    assert grid_model.stat().st_mtime_ns == t_grid                          # and never touched the grid's
