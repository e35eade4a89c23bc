import csv, json, subprocess, sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXE = Path(sys.executable).parent / 'dwm-reproduce'


def run(*args, cwd=ROOT):
    return subprocess.run([str(EXE), *args], cwd=cwd, capture_output=True, text=True, timeout=600)


def test_end_to_end_quick_run(tmp_path):
    r = run('--out', str(tmp_path / 'res'), '--max-steps', '8', '--shifts', 'rot90', 'blur', '--no-progress')
    assert r.returncode == 0, r.stderr
    out = tmp_path / 'res'
    rows = list(csv.DictReader(open(out / 'forgetting.csv')))
    assert [r['shift'] for r in rows] == ['rot90', 'blur']
    assert json.loads((out / 'forgetting.json').read_text())[0]['shift'] == 'rot90'
    assert (out / 'forgetting.png').read_bytes()[:4] == b'\x89PNG'
    assert 'source_before' in r.stdout and 'rot90' in r.stdout
    assert not list(out.glob('*.tmp'))


@pytest.mark.parametrize('args,msg', [(['--shifts', 'rot45'], 'unknown shift'), (['--epochs', '0'], '--epochs'),
                                      (['--lr', '-1'], '--lr must be positive')])
def test_bad_arguments(tmp_path, args, msg):
    r = run('--out', str(tmp_path / 'res'), *args)
    assert r.returncode == 2 and msg in r.stderr
    assert not (tmp_path / 'res').exists()          # nothing written


def test_out_is_a_file(tmp_path):
    f = tmp_path / 'results'; f.write_text('x')
    r = run('--out', str(f))
    assert r.returncode == 2 and 'is a file' in r.stderr
