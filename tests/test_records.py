"Issues 23 and 25: one source of truth for records, and a results folder nobody can redirect."
import os, warnings
from dataclasses import asdict, replace
from pathlib import Path
import pytest

from dwm_tutorial.data import TMP_PREFIX, atomic_write, sweep_temp
from dwm_tutorial.transfer import LOCK_NAME, TransferResult, load_results, merge_results, save_results


def rec(seed=0, **kw):
    r = TransferResult('topk', 'isolate', 'rot90', 0.8, 0.8, {'fc': 0.2}, 0.9, 0.85, 0.1, 0.8, 0.05, 0.944, 1.0, 0.85, 0.8,
                       468_576, 1.111, 3.2, seed, 'test', steps={'source_mask': 200, 'target': 200})
    return replace(r, **kw)


def merge(d, *recs):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        out = merge_results(d / 'results.csv', list(recs), d / 'results.json')
    return out, ' | '.join(str(x.message) for x in w)


def test_csv_deleted_json_kept_keeps_the_union(tmp_path):
    save_results([rec(s) for s in range(4)], tmp_path / 'results.json')          # results.csv deleted, results.json kept
    out, said = merge(tmp_path, rec(9))
    assert sorted(r.seed for r in out) == [0, 1, 2, 3, 9]
    assert load_results(tmp_path / 'results.csv') == load_results(tmp_path / 'results.json') == out
    assert '4 record(s) found only in results.json' in said


def test_an_edit_in_one_file_is_reported_not_dropped(tmp_path):
    save_results([rec(0), rec(1)], tmp_path / 'results.csv')
    save_results([rec(0, target_after=0.5), rec(1)], tmp_path / 'results.json')
    out, said = merge(tmp_path)
    assert 'seed 0 has different numbers in results.csv and results.json: the results.csv row is kept' in said
    assert [r.target_after for r in out if r.seed == 0] == [0.8]


def test_a_run_twice_with_other_numbers_is_reported(tmp_path):
    save_results([rec(0), rec(0, target_after=0.7)], tmp_path / 'results.csv')
    out, said = merge(tmp_path)
    assert 'results.csv holds the run topk/isolate/rot90/sparsity 0.8/seed 0 twice with different numbers' in said
    assert len(out) == 1 and out[0].target_after == 0.7


def test_a_rerun_with_other_seconds_is_not_a_disagreement(tmp_path):
    save_results([rec(0)], tmp_path / 'results.json'); save_results([rec(0, seconds=9.9)], tmp_path / 'results.csv')
    _, said = merge(tmp_path)
    assert said == ''


def test_steps_survive_the_csv(tmp_path):
    save_results([rec(0)], tmp_path / 'r.csv')
    assert load_results(tmp_path / 'r.csv')[0].steps == {'source_mask': 200, 'target': 200}


def test_a_planted_lock_link_is_refused(tmp_path):
    out, outside = tmp_path / 'out', tmp_path / 'outside'
    out.mkdir(); outside.mkdir()
    (out / LOCK_NAME).symlink_to(outside / 'created-by-us')
    with pytest.raises(PermissionError, match='is a symbolic link'): merge_results(out / 'results.csv', [rec(0)])
    assert list(outside.iterdir()) == [] and not (out / 'results.csv').exists()


def test_a_swapped_temporary_writes_nothing_through_the_link(tmp_path):
    out, victim = tmp_path / 'out', tmp_path / 'victim.txt'
    out.mkdir(); victim.write_text('keep me'); os.chmod(victim, 0o600)
    def swap(f):
        tmp = next(p for p in out.iterdir() if p.name.startswith(TMP_PREFIX))
        tmp.unlink(); tmp.symlink_to(victim); f.write(b'checkpoint')
    with pytest.raises(FileExistsError, match='was replaced by another file'): atomic_write(out / 'source.pt', swap)
    assert victim.read_text() == 'keep me' and (victim.stat().st_mode & 0o777) == 0o600      # neither written nor chmod-ed
    assert not (out / 'source.pt').exists()


def test_sweep_removes_only_our_temporaries(tmp_path):
    import subprocess, sys
    dead = subprocess.run([sys.executable, '-c', 'import os; print(os.getpid())'], capture_output=True, text=True).stdout.strip()
    ours, users = tmp_path / f'.dwm-tmp.{dead}.ab_12.results.csv', tmp_path / f'.notes.{dead}.tmp'
    for f in (ours, users): f.write_text('x')
    assert sweep_temp(tmp_path) == [ours] and users.exists()
