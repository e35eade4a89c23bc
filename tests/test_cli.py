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
    assert json.loads((out / 'results.json').read_text())[0]['format'] == 5
    fin = next(x for x in rows if x['protocol'] == 'finetune')
    assert float(fin["bits_per_weight"]) == 32.0 and float(fin["relative_target"]) == 1.0
    assert abs(float(iso['relative_target']) - float(iso['target_after']) / float(fin['target_after'])) < 1e-5
    assert abs(float(iso['retention']) - float(iso['source_after']) / float(iso['source_before'])) < 1e-5
    assert 1.1 < float(iso['bits_per_weight']) < 1.12          # the mask + the source's own head and biases
    assert 'retention' in r.stdout and 'relative_target' in r.stdout
    for png in ('pareto.png', 'density.png'): assert (out / png).read_bytes()[:4] == b'\x89PNG'
    assert 'source_after' in r.stdout and 'isolate' in r.stdout
    assert not list(out.rglob('.dwm-tmp.*'))
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
    assert (out / 'cache' / 'source_mini_val0.1_s0.pt').exists() and (out / 'cache' / 'source_mini_val0.1_s1.pt').exists()
    assert '±' in r.stdout and '2 seed(s)' in r.stdout
    r2 = run(*args, '--seeds', '0', '1', '2')                     # seeds 0 and 1 are reused, only seed 2 runs
    assert r2.returncode == 0, r2.stderr
    rows2 = list(csv.DictReader(open(out / 'results.csv')))
    assert len(rows2) == 6 and [x for x in rows2 if x['seed'] in '01'] == rows


# --- the quick default's plan and bar (issue 26), python -m, --version, --out '', DWM_DEBUG (issues 22, 23) ---

def py(*args, cwd=ROOT, env=None):
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=900,
                          env=None if env is None else {**__import__('os').environ, **env})


def test_quick_default_keeps_its_point():
    from dwm_tutorial.cli import parse_args
    from dwm_tutorial.transfer import plan_runs
    a = parse_args([])
    plan = plan_runs(a.shifts, a.methods, a.sparsities, a.protocols)
    assert len(a.sparsities) == 1                                     # one matched sparsity for every mask
    got = {(r['method'], p) for r in plan for p in r['protocols']}
    for m in ('ste', 'gumbel', 'topk'): assert {(m, 'isolate'), (m, 'protect'), (m, 'adapt')} <= got
    assert {('magnitude', 'isolate'), ('magnitude', 'protect'), (None, 'finetune'), (None, 'head')} <= got
    assert parse_args(['--full']).min_steps == 200 and a.min_steps == 80


def test_quick_run_says_what_and_how_long_with_one_bar(tmp_path):
    out = tmp_path / 'res'
    r = run('--out', str(out), '--max-steps', '2')                   # the quick grid, 2 steps per stage
    assert r.returncode == 0, r.stderr
    first = r.stdout.splitlines()[0]
    assert first.startswith('quick run on the mini subset') and '13 training stages, 26 optimizer steps' in first, first
    assert 'ste, gumbel, topk against magnitude' in first and 'min on an idle 2-core CPU' in first
    assert 'quick run: 100%' in r.stderr and '26/26 steps' in r.stderr and 'left]' in r.stderr
    for stage in ('source:', 'ste mask:', 'finetune:', 'runs:'): assert stage not in r.stderr   # no bar per stage
    # more runs into the same folder: only the new ones count, and the cached source model is said to be reused
    r2 = run('--out', str(out), '--max-steps', '2', '--sparsities', '0.8', '0.5', '--methods', 'topk', '--no-progress')
    assert r2.returncode == 0, r2.stderr
    assert "4 training stages, 8 optimizer steps" in r2.stdout.splitlines()[0]     # the source (found cached), topk at 0.5: mask, 2 stage 2s
    assert 'source model loaded, not trained' in r2.stdout and 'source_mini_val0.1_s0.pt' in r2.stdout
    r3 = run('--out', str(out), '--max-steps', '2', '--no-progress')
    assert r3.returncode == 0 and 'Nothing to train' in r3.stdout.splitlines()[0], r3.stdout


def test_python_m_and_version(tmp_path):
    from dwm_tutorial import __version__
    for cmd in ([str(EXE)], [sys.executable, '-m', 'dwm_tutorial'], [sys.executable, '-m', 'dwm_tutorial.cli']):
        r = subprocess.run([*cmd, '--version'], capture_output=True, text=True, timeout=300)
        assert r.returncode == 0 and r.stdout.strip() == f'dwm-reproduce {__version__}', (cmd, r.stdout, r.stderr)
    r = py('-m', 'dwm_tutorial.cli', '--epochs', '0', '--out', str(tmp_path / 'a'))     # runs the CLI: not a silent exit 0
    assert r.returncode == 2 and '--epochs must be >= 1, got 0' in r.stderr, r.stderr
    r = py('-m', 'dwm_tutorial', '--out', str(tmp_path / 'b'), '--max-steps', '1', '--methods', 'magnitude', '--protocols',
           'isolate', '--no-progress')
    assert r.returncode == 0, r.stderr
    assert sorted(x['protocol'] for x in csv.DictReader(open(tmp_path / 'b' / 'results.csv'))) == ['finetune', 'isolate']


@pytest.mark.parametrize('out', [''])
def test_empty_out_is_refused(tmp_path, out):
    r = run('--out', out, '--max-steps', '1', cwd=tmp_path)
    assert r.returncode == 2 and 'is empty: name a folder' in r.stderr and len(r.stderr.strip().splitlines()[-1]) < 200, r.stderr
    assert list(tmp_path.iterdir()) == []                              # nothing written into the working folder


@pytest.mark.parametrize('value,traceback', [('0', False), ('false', False), ('1', True), ('YES', True)])   # more: 07_cli's debugging()
def test_dwm_debug_only_for_yes(tmp_path, value, traceback):
    bad = tmp_path / 'bad'; bad.mkdir()
    for n in ('train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'):
        (bad / n).write_bytes(b'\x00\x00\x08\x01\x00\x00\x00\x05ab')   # a header that promises 5 bytes, and 2: fails while running
    r = py('-m', 'dwm_tutorial', '--root', str(bad), '--out', str(tmp_path / 'o'), '--no-progress', env={'DWM_DEBUG': value})
    assert r.returncode == 1 and ('Traceback' in r.stderr) == traceback, r.stderr
