"""A full disk ends a run in one line naming the folder and the file that did not fit, exit 1, with what was written before intact
and no temporary file left. The disk is a real one: a small tmpfs mounted for the test (root only; elsewhere the tests are skipped
and say why). The writer's side of it (an `ENOSPC` from any writer becomes `DiskFull`) is checked in 00_data on every machine."""
import csv, os, shutil, subprocess, sys
from pathlib import Path

import pytest

from conftest import write_root

EXE = Path(sys.executable).parent / 'dwm-reproduce'
GRID = ['--max-steps', '3', '--shifts', 'rot90', '--methods', 'topk', '--sparsities', '0.8', '--protocols', 'isolate', '--no-progress']


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    "A --root of 512 training and 128 test images: bookkeeping, not accuracy."
    return write_root(tmp_path_factory.mktemp('tiny'), 512, 128)


@pytest.fixture
def disk(tmp_path):
    "A mount point and a function that mounts a tmpfs of `size` bytes on it (unmounted at the end)."
    point = tmp_path / 'disk'; point.mkdir()
    mounted = []
    def mount(size):
        r = subprocess.run(['mount', '-t', 'tmpfs', '-o', f'size={size}', 'tmpfs', str(point)], capture_output=True, text=True)
        if r.returncode: pytest.skip(f"a small disk is needed and this machine will not mount a tmpfs ({r.stderr.strip() or 'not root'})")
        mounted.append(point); return point
    if os.geteuid() != 0 or not shutil.which('mount'): pytest.skip('mounting a small tmpfs needs root')
    yield mount
    for p in mounted: subprocess.run(['umount', str(p)], check=True)


def reproduce(out, tiny):
    return subprocess.run([str(EXE), '--out', str(out), '--root', str(tiny), *GRID], capture_output=True, text=True, timeout=600)


def temporaries(folder):
    return [p for p in Path(folder).rglob('.dwm-tmp.*')]


def test_source_model_that_does_not_fit(disk, tiny):
    "64 KB hold the folders but not the source model's checkpoint: one line naming cache/ and the file, exit 1."
    out = disk(64 * 1024) / 'out'
    r = reproduce(out, tiny)
    assert r.returncode == 1, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and 'Traceback' not in r.stderr, r.stderr
    assert f'the disk holding {out}/cache is full: source_root_val0.1_s0.pt did not fit' in lines[0], lines[0]
    assert not temporaries(out) and not (out / 'cache' / 'source_root_val0.1_s0.pt').exists()


def test_records_fit_but_the_plots_do_not(disk, tiny):
    "A finished run; then the disk is filled up to a little more than the records need and the plots are asked for again."
    out = disk(8 * 1024 * 1024) / 'out'
    r = reproduce(out, tiny); assert r.returncode == 0, r.stderr
    records = {n: (out / n).read_bytes() for n in ('results.csv', 'results.json')}
    (out / 'pareto.png').unlink(); (out / 'density.png').unlink()
    free = shutil.disk_usage(out).free
    room = sum(len(b) for b in records.values()) + 12 * 1024          # the records' rewrite fits; a plot (tens of KB) does not
    (out.parent / 'filler').write_bytes(b'\0' * (free - room))
    r = reproduce(out, tiny)
    assert r.returncode == 1, r.stdout + r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and 'Traceback' not in r.stderr, r.stderr
    assert f'the disk holding {out} is full: pareto.png did not fit' in lines[0], lines[0]
    assert {n: (out / n).read_bytes() for n in records} == records    # the records as the finished run left them
    assert len(list(csv.DictReader(open(out / 'results.csv')))) == 2 and not temporaries(out) and not (out / 'pareto.png').exists()
