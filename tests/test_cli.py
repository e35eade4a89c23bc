import csv, json, subprocess, sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXE = Path(sys.executable).parent / 'dwm-reproduce'
SMALL = ['--max-steps', '4', '--shifts', 'rot90', '--methods', 'topk', 'magnitude', '--sparsities', '0.8', '--no-progress']


def run(*args, cwd=ROOT):
    return subprocess.run([str(EXE), *args], cwd=cwd, capture_output=True, text=True, timeout=900)


def test_end_to_end_and_reuse(tmp_path):
    out = tmp_path / 'res'
    r = run('--out', str(out), *SMALL)
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(open(out / 'results.csv')))
    got = sorted((x['protocol'], x['method']) for x in rows)
    assert got == sorted([('finetune', 'none'), ('head', 'none'), ('protect', 'topk'), ('isolate', 'topk'), ('adapt', 'topk'),
                          ('protect_restored', 'topk'), ('protect', 'magnitude'), ('isolate', 'magnitude'), ('protect_restored', 'magnitude')])
    iso = next(x for x in rows if (x['protocol'], x['method']) == ('isolate', 'topk'))
    assert iso['source_after'] == iso['source_masked']            # the isolate invariant, end to end
    assert json.loads((out / 'results.json').read_text())[0]['format'] == 3
    fin = next(x for x in rows if x['protocol'] == 'finetune')
    assert float(fin["bits_per_weight"]) == 32.0 and float(fin["relative_target"]) == 1.0
    assert abs(float(iso['relative_target']) - float(iso['target_after']) / float(fin['target_after'])) < 1e-5
    assert abs(float(iso['retention']) - float(iso['source_after']) / float(iso['source_before'])) < 1e-5
    assert 1.1 < float(iso['bits_per_weight']) < 1.12          # the mask + the source's own head and biases
    assert 'retention' in r.stdout and 'relative_target' in r.stdout
    for png in ('pareto.png', 'density.png'): assert (out / png).read_bytes()[:4] == b'\x89PNG'
    assert 'source_after' in r.stdout and 'isolate' in r.stdout
    assert not list(out.rglob('*.tmp'))
    # the same command again reuses every finished record: identical file, including wall times
    before = (out / 'results.csv').read_text()
    r2 = run('--out', str(out), *SMALL)
    assert r2.returncode == 0, r2.stderr
    assert (out / 'results.csv').read_text() == before


@pytest.mark.parametrize('args,msg', [(['--shifts', 'rot45'], 'unknown shift'), (['--epochs', '0'], '--epochs'),
                                      (['--methods', 'snip'], 'known methods'), (['--protocols', 'distill'], 'known protocols'),
                                      (['--sparsities', '1'], '[0, 1)')])
def test_bad_arguments(tmp_path, args, msg):
    r = run('--out', str(tmp_path / 'res'), *args)
    assert r.returncode == 2 and msg in r.stderr, r.stderr
    assert not (tmp_path / 'res').exists()          # nothing written


def test_out_is_a_file(tmp_path):
    f = tmp_path / 'results'; f.write_text('x')
    r = run('--out', str(f))
    assert r.returncode == 2 and 'is a file' in r.stderr


def test_old_results_format_is_refused(tmp_path):
    (tmp_path / 'results.csv').write_text('shift,acc\nrot90,0.5\n')
    r = run('--out', str(tmp_path))
    assert r.returncode == 2 and 'another format' in r.stderr and '--out' in r.stderr


def test_protect_only_and_records_of_other_settings_kept(tmp_path):
    out = tmp_path / 'res'
    base = ['--out', str(out), '--max-steps', '2', '--shifts', 'invert', '--methods', 'magnitude', '--sparsities', '0.5', '--no-progress']
    r = run(*base, '--protocols', 'protect')
    assert r.returncode == 0, r.stderr
    assert not (out / 'density.png').exists()                       # protect-only runs have no mask to draw
    r = run(*base, '--epochs', '3', '--protocols', 'protect')      # another setting, same folder
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(open(out / 'results.csv')))
    assert len({x['setting'] for x in rows}) == 2 and len(rows) == 4     # finetune + protect, for each setting


def test_seeds_give_mean_and_std(tmp_path):
    out = tmp_path / 'res'
    args = ['--out', str(out), '--max-steps', '3', '--shifts', 'rot90', '--methods', 'topk', '--sparsities', '0.8',
            '--protocols', 'isolate', '--no-progress']
    r = run(*args, '--seeds', '0', '1')
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(open(out / 'results.csv')))
    assert sorted((x['seed'], x['protocol']) for x in rows) == [('0', 'finetune'), ('0', 'isolate'), ('1', 'finetune'), ('1', 'isolate')]
    assert (out / 'cache' / 'source_mini_s0.pt').exists() and (out / 'cache' / 'source_mini_s1.pt').exists()
    assert '±' in r.stdout and '2 seed(s)' in r.stdout
    r2 = run(*args, '--seeds', '0', '1', '2')                     # seeds 0 and 1 are reused, only seed 2 runs
    assert r2.returncode == 0, r2.stderr
    rows2 = list(csv.DictReader(open(out / 'results.csv')))
    assert len(rows2) == 6 and [x for x in rows2 if x['seed'] in '01'] == rows
