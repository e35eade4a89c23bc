"""Lessons as a course user opens them: from the installed wheel, in an empty folder, with no network.

The wheel (built as tests/test_wheel.py builds it, or the release's under `make release-check`) is installed into a
fresh venv outside the repository, which sees the dev venv's copies of the wheel's runtime dependencies and of the
kernel pieces (ipykernel, nbclient, nbformat, from the `dev` extra's jupyterlab) through a folder of symlinks and
nothing else (test_wheel.py's way: a venv with its own torch would copy gigabytes). Lessons 1 and 3 and the
playground run there in test mode (IN_TEST=1) with nbclient, skipping the cells nbdev-test skips, from a copy of the
notebook in an empty folder. Their first cell must not install anything (the package is importable, and pip has no
network), their data must come from the installed package, and they may write only into that folder and the user's
cache directory. HOME is a fresh folder; the kernel machinery's own files (IPython's profile, Jupyter's connection
files, matplotlib's font cache) are sent to $XDG_CACHE_HOME by their variables, so any other file under HOME, any
file outside the working folder, or any change to the checkout where a clone's lesson writes (`git status
--ignored` of results/, data/, nbs/tutorials/, dwm_tutorial/) is the lesson's doing. About 3.5 CPU-minutes in all
(`make test-slow`)."""
import json, os, re, subprocess, sys, venv
from pathlib import Path

import pytest

from test_wheel import _link_deps, _requires, runtime_closure, wheel  # noqa: F401  (wheel: the fixture)

ROOT = Path(__file__).resolve().parent.parent
LESSONS = ['01_forgetting', '03_masked_layer', '09_sparsity_playground']
KERNEL = ['ipykernel', 'nbclient', 'nbformat']
SKIP_FLAGS = ('slow', 'notest')                                   # nbdev-test's tst_flags: skipped unless asked for
pytestmark = [pytest.mark.slow, pytest.mark.skipif(os.name != 'posix', reason='venv layout (bin/) and PATH are POSIX')]

RUNNER = r'''
import json, re, sys, time, nbformat
from nbclient import NotebookClient
path, skip = sys.argv[1], tuple(sys.argv[2:])
nb = nbformat.read(path, as_version=4)
def skipped(c):
    flags = re.findall(r'^#\|\s*(\S+)(?:\s*:\s*(\S+))?', c.source, re.M)
    return any(f in skip for f, _ in flags) or ('eval', 'false') in flags
nb.cells = [c for c in nb.cells if not (c.cell_type == 'code' and skipped(c))]
t = time.time()
NotebookClient(nb, timeout=600, kernel_name='python3', resources={'metadata': {'path': '.'}}).execute()
first = next(c for c in nb.cells if c.cell_type == 'code')
print(json.dumps(dict(seconds=round(time.time() - t, 1), first_source=first.source, first_outputs=first.outputs,
                      text=''.join(o.get('text', '') for c in nb.cells if c.cell_type == 'code' for o in c.outputs))))
'''


WATCHED = ('results', 'data', 'nbs/tutorials', 'dwm_tutorial')   # where a lesson of a clone would write


def _status() -> list[str]:
    """The checkout's `git status` (ignored and untracked files listed one by one) where a lesson run in a clone
    would write: its results/ (cache_dir), data/ (a download), the lessons, the package. Only there, so that
    what other processes do in the checkout meanwhile (a venv being installed, say) does not count."""
    out = subprocess.run(['git', 'status', '--porcelain', '--ignored', '--untracked-files=all', '--', *WATCHED],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout.splitlines()
    return sorted(l for l in out if '__pycache__' not in l)


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob('*') if p.is_file()}


@pytest.fixture(scope='module')
def user_env(wheel, tmp_path_factory):
    "A fresh venv with the wheel installed (and the kernel pieces visible), a fresh HOME, and no network."
    base = tmp_path_factory.mktemp('user')
    env_dir, deps, home = base / 'venv', base / 'deps', base / 'home'
    venv.create(env_dir, with_pip=False)
    py = env_dir / 'bin' / 'python'
    site = Path(subprocess.run([py, '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'],
                               capture_output=True, text=True, check=True).stdout.strip())
    _link_deps(runtime_closure([r for r in _requires(wheel) if 'extra ==' not in r] + KERNEL), deps)
    (site / 'runtime_deps.pth').write_text(f'{deps}\n')
    r = subprocess.run([sys.executable, '-m', 'pip', '--python', str(py), 'install', '-q', '--no-index', str(wheel)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    cache = home / '.cache'
    cache.mkdir(parents=True)
    env = {'PATH': f'{env_dir / "bin"}:/usr/bin:/bin', 'HOME': str(home), 'LANG': 'C.UTF-8', 'IN_TEST': '1',
           'XDG_CACHE_HOME': str(cache), 'IPYTHONDIR': str(cache / 'ipython'), 'MPLCONFIGDIR': str(cache / 'matplotlib'),
           'JUPYTER_RUNTIME_DIR': str(cache / 'jupyter'), 'JUPYTER_PLATFORM_DIRS': '1', 'CUDA_VISIBLE_DEVICES': '',
           'OMP_NUM_THREADS': '2', 'PYDEVD_DISABLE_FILE_VALIDATION': '1',
           # no network: every HTTP(S) request (pip's included) goes to a closed local port
           'http_proxy': 'http://127.0.0.1:9', 'https_proxy': 'http://127.0.0.1:9', 'no_proxy': '',
           'HTTP_PROXY': 'http://127.0.0.1:9', 'HTTPS_PROXY': 'http://127.0.0.1:9', 'PIP_NO_INDEX': '1'}
    return py, env_dir, home, env


@pytest.mark.parametrize('lesson', LESSONS)
def test_lesson_runs_from_the_installed_package_in_an_empty_folder(user_env, lesson):
    py, env_dir, home, env = user_env
    work = home / 'course' / lesson
    work.mkdir(parents=True)
    nb = work / f'{lesson}.ipynb'
    nb.write_bytes((ROOT / 'nbs' / 'tutorials' / f'{lesson}.ipynb').read_bytes())
    before, home_before = _status(), _files(home)
    r = subprocess.run([py, '-c', RUNNER, nb.name, *SKIP_FLAGS], cwd=work, env=env, capture_output=True, text=True,
                       timeout=900)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    got = json.loads(r.stdout.strip().splitlines()[-1])
    print(f'{lesson}: {got["seconds"]} s')

    # the first cell is the install cell, and it did nothing: the installed package was importable
    assert 'pip' in got['first_source'] and "find_spec('dwm_tutorial') is None" in got['first_source']
    assert got['first_outputs'] == [], got['first_outputs']
    # where the package came from, and where the data was found: the fresh venv, not the checkout
    where = subprocess.run([py, '-c', 'import dwm_tutorial, dwm_tutorial.data as D; '
                            'print(dwm_tutorial.__file__); print(D.search_folders("mini"))'],
                           cwd=work, env=env, capture_output=True, text=True, check=True).stdout
    assert where.startswith(str(env_dir)) and str(ROOT) not in where, where
    # written: the working folder (the notebook, results/cache/...) and the cache directory only; the checkout as it was
    written = {f for f in _files(home) - home_before if not f.startswith(('.cache/', f'course/{lesson}/'))}
    assert not written, f'{lesson} wrote outside its folder and the cache directory: {sorted(written)[:10]}'
    assert not (work / 'data').exists(), 'the data must come from the installed package, not be downloaded'
    assert _status() == before, 'the checkout changed while the lesson ran'
    assert (work / 'results' / 'cache' / 'source_mini_val0.1_s0.pt').is_file(), sorted(_files(work))   # the cache: here
