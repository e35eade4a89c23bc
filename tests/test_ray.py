"""Grids on Ray (issue 20): the records of the serial path, to the last digit, from a local Ray, from a two-node
cluster reached with --address, and after a driver interrupted by SIGINT and then killed by SIGKILL. Ray stays
optional: without it nothing imports it and `--executor ray` says what to install. Every Ray node here listens on
this machine only (127.0.0.1)."""
import contextlib, csv, json, os, re, signal, subprocess, sys, time, tomllib
from importlib import metadata
from pathlib import Path
from unittest import mock

import functools
import pytest
import conftest

cli = functools.partial(conftest.cli, traceback_ok=True)     # Ray's workers may log their own tracebacks to this stderr


ROOT = Path(__file__).resolve().parent.parent
EXE = Path(sys.executable).parent / 'dwm-reproduce'
LOOPBACK = {'RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER': '0'}      # Ray's nodes take 127.0.0.1 as their address, not the LAN's
# 2 shifts x (finetune, topk: protect+isolate, topk: adapt, magnitude: protect+isolate) = 8 runs, 12 records
GRID = ['--max-steps', '3', '--shifts', 'rot90', 'invert', '--methods', 'topk', 'magnitude', '--sparsities', '0.8',
        '--protocols', 'protect', 'isolate', 'adapt', '--no-progress']




def rows(out):
    return list(csv.DictReader(open(Path(out) / 'results.csv', newline='')))


def strip(out):
    "The records of `out`, timings aside, in a fixed order."
    return sorted(json.dumps({k: v for k, v in r.items() if k != 'seconds'}, sort_keys=True) for r in rows(out))


def popen(*argv):
    env = {**os.environ, **LOOPBACK, 'PYTHONUNBUFFERED': '1'}
    return subprocess.Popen([str(EXE), *argv], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def wait_for_rows(out, n, proc, timeout=600):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if proc.poll() is not None: return False
        with contextlib.suppress(FileNotFoundError, csv.Error):
            if len(rows(out)) >= n: return True
        time.sleep(0.05)
    return False


# --- without Ray ------------------------------------------------------------------------------------------------------

def test_ray_is_an_extra_only():
    "Installing the package pulls no Ray: it is in the `ray` extra only, and importing the package imports no Ray."
    proj = tomllib.loads((ROOT / 'pyproject.toml').read_text())['project']
    assert not [d for d in proj['dependencies'] if d.lower().startswith('ray')]
    assert [d for d in proj['optional-dependencies']['ray'] if re.fullmatch(r'ray==[\d.]+', d)]
    needs = [r for r in (metadata.requires('dwm-tutorial') or []) if r.lower().startswith('ray')]
    assert all('extra == "ray"' in r for r in needs), needs
    code = "import sys, dwm_tutorial.cli, dwm_tutorial.scale, dwm_tutorial.transfer; assert 'ray' not in sys.modules"
    subprocess.run([sys.executable, '-c', code], check=True, cwd=ROOT)


def test_executor_ray_without_ray_says_what_to_install(tmp_path):
    with mock.patch('dwm_tutorial.scale.ray_available', return_value=False):
        code, _, err = cli('--out', str(tmp_path / 'out'), *GRID, '--executor', 'ray')
    assert code == 2 and 'pip install "dwm-tutorial[ray]"' in err, err
    assert not (tmp_path / 'out').exists()                       # refused before any work


@pytest.mark.parametrize('args, msg', [(['--address', '127.0.0.1:6379'], '--address needs --executor ray'),
                                       (['--executor', 'dask'], "invalid choice: 'dask'")])
def test_bad_executor_arguments(tmp_path, args, msg):
    code, _, err = cli('--out', str(tmp_path / 'out'), *GRID, *args)
    assert code == 2 and msg in err, err


# --- on Ray -------------------------------------------------------------------------------------------------------------

# `tiny` (a --root of 1,024 + 256 mini images) comes from conftest.py


@pytest.fixture(scope='module')
def serial(tmp_path_factory, tiny):
    "The grid's records from the serial path."
    out = tmp_path_factory.mktemp('serial') / 'out'
    code, _, err = cli('--out', str(out), '--root', str(tiny), *GRID)
    assert code == 0, err
    assert len(rows(out)) == 12
    return strip(out)


@pytest.fixture
def loopback(monkeypatch):
    for k, v in LOOPBACK.items(): monkeypatch.setenv(k, v)


@pytest.mark.slow
def test_local_ray_gives_the_serial_records(tmp_path, tiny, serial, loopback):
    "A local Ray of 2 CPUs runs the grid through `--executor ray`: the serial path's records, timings aside."
    import ray
    from dwm_tutorial.scale import init_ray
    init_ray(address='local', num_cpus=2)              # a Ray of its own, even beside a running cluster
    try:
        assert {n['NodeManagerAddress'] for n in ray.nodes()} == {'127.0.0.1'}
        code, _, err = cli('--out', str(tmp_path / 'out'), '--root', str(tiny), *GRID, '--executor', 'ray')
        assert ray.is_initialized()                             # a Ray the caller started is left to the caller
    finally: ray.shutdown()
    assert code == 0, err
    assert strip(tmp_path / 'out') == serial


@pytest.fixture(scope='module')
def cluster():
    "Two Ray nodes of 2 CPUs each on this machine (127.0.0.1), as `ray start --head` plus one worker would make them."
    with mock.patch.dict(os.environ, LOOPBACK):
        from ray.cluster_utils import Cluster
        c = Cluster(initialize_head=True, head_node_args=dict(num_cpus=2, include_dashboard=False))
        c.add_node(num_cpus=2)
        c.wait_for_nodes()
    try: yield c
    finally: c.shutdown()


@pytest.mark.slow
def test_two_node_cluster_through_address(tmp_path, tiny, serial, cluster):
    "The same command with --address ADDRESS of a two-node cluster: the serial path's records."
    assert cluster.address.startswith('127.0.0.1:') and len(cluster.list_all_nodes()) == 2
    p = popen('--out', str(tmp_path / 'out'), '--root', str(tiny), *GRID, '--executor', 'ray', '--address', cluster.address)
    _, err = p.communicate(timeout=900)
    assert p.returncode == 0, err
    assert strip(tmp_path / 'out') == serial


@pytest.mark.slow
def test_sigint_then_sigkill_then_resume(tmp_path, tiny, serial, cluster):
    """Ctrl-C mid-grid stops the cluster's work and says how many records were saved; a SIGKILLed driver loses only its
    runs in flight; the same command then computes only what is missing: the serial records, none duplicated or lost."""
    out = tmp_path / 'out'
    cmd = ['--out', str(out), '--root', str(tiny), *GRID, '--executor', 'ray', '--address', cluster.address]
    p = popen(*cmd)
    assert wait_for_rows(out, 1, p), p.communicate()
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 130 and 'Traceback' not in err, err
    m = re.search(r'interrupted; (\d+) run record\(s\) of this session are saved in', err)
    first = len(rows(out))
    assert m and int(m[1]) in (first - 3, first - 2, first - 1, first), err     # a record may land while the signal does
    assert first < 12
    p = popen(*cmd)
    assert wait_for_rows(out, first + 1, p), p.communicate()
    p.send_signal(signal.SIGKILL); p.wait()
    assert p.returncode == -signal.SIGKILL and len(rows(out)) < 12
    p = popen(*cmd)
    _, err = p.communicate(timeout=900)
    assert p.returncode == 0, err
    keys = [(r['method'], r['protocol'], r['shift']) for r in rows(out)]
    assert len(keys) == len(set(keys)) == 12                  # none duplicated, none lost
    assert strip(out) == serial                               # every number the serial path's
    assert not list(out.rglob('.dwm-tmp.*'))
