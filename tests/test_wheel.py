"""The wheel, as a user who never clones the repository gets it.

Built from the working tree, it must carry the mini subset, ask for no dev tools, install into a fresh
venv outside the repository, and run `dwm-reproduce` there from an empty folder with no network.
Installing torch & co. into the fresh venv would copy gigabytes, so the venv sees the dev venv's copies
of the wheel's runtime dependencies (and of theirs, and nothing else) through a folder of symlinks: an
import of anything the wheel does not declare (nbdev, pytest, ...) fails there as it would for a user."""
import gzip, hashlib, importlib.metadata as md, json, os, re, shutil, subprocess, sys, sysconfig, venv, zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from dwm_tutorial import data as D

ROOT = Path(__file__).resolve().parent.parent
DEV_TOOLS = {'nbdev', 'execnb', 'fastcore', 'jupyterlab', 'notebook', 'pytest', 'build', 'setuptools', 'wheel',
             'playwright', 'sphinx', 'myst-nb', 'quarto-cli'}


def _source_files(root):
    "What a fresh clone of the working tree holds: tracked and new files, none that git ignores."
    try: out = subprocess.run(['git', 'ls-files', '-z', '-c', '-o', '--exclude-standard'], cwd=root,
                              capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError): pytest.skip('needs a git checkout to know the source files')
    return sorted({f for f in out.decode().split('\0') if f and (root / f).is_file()})


@pytest.fixture(scope='module')
def wheel(tmp_path_factory) -> Path:
    """The wheel built (offline, no build isolation) from a copy of the source tree, so the checkout stays as it is;
    under `make release-check` (DWM_RELEASE_DIR) the release's wheel, which `python -m build` made from the sdist."""
    if os.environ.get('DWM_RELEASE_DIR'):
        (whl,) = Path(os.environ['DWM_RELEASE_DIR']).glob('dwm_tutorial-*.whl')
        return whl
    src, dist = tmp_path_factory.mktemp('src'), tmp_path_factory.mktemp('dist')
    for f in _source_files(ROOT):
        (src / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / f, src / f)
    r = subprocess.run([sys.executable, '-m', 'pip', 'wheel', '-q', '--no-deps', '--no-build-isolation', '--no-index',
                        '-w', str(dist), str(src)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    (whl,) = dist.glob('dwm_tutorial-*.whl')
    return whl


def _requires(whl) -> list[str]:
    with zipfile.ZipFile(whl) as z:
        meta = next(n for n in z.namelist() if n.endswith('.dist-info/METADATA'))
        return re.findall(r'^Requires-Dist: (.+)$', z.read(meta).decode(), re.M)


def test_wheel_carries_the_mini_subset(wheel):
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        for img, lbl in D.IDX_NAMES.values():
            for n in (img, lbl):
                packed = z.read(f'dwm_tutorial/{D.PACKAGE_MINI}/{n}.gz')
                assert packed == (ROOT / 'data' / D.MINI_NAME / f'{n}.gz').read_bytes()   # compressed, as committed
                assert hashlib.sha256(gzip.decompress(packed)).hexdigest() == D.MINI_SHA256[n]
    tops = {n.split('/')[0] for n in names}
    assert tops == {'dwm_tutorial', wheel.name.split('-')[0] + '-' + wheel.name.split('-')[1] + '.dist-info'}, tops
    assert not any(n.endswith('.py') and '/fashion_mnist_mini/' in n for n in names)   # no make_mini.py, no tests
    assert sum(z.getinfo(n).file_size for n in names if n.endswith('.gz')) < 6e6


def test_wheel_pulls_no_dev_tools(wheel):
    reqs = [Requirement(r) for r in _requires(wheel)]
    base = {canonicalize_name(r.name) for r in reqs if not (r.marker and 'extra' in str(r.marker))}
    dev = {canonicalize_name(r.name) for r in reqs if r.marker and r.marker.evaluate({'extra': 'dev'})} - base
    assert base >= {'torch', 'torchvision', 'matplotlib', 'seaborn', 'ipywidgets'}, base
    assert not base & DEV_TOOLS, f'pip install of the wheel would pull dev tools: {base & DEV_TOOLS}'
    assert {'nbdev', 'jupyterlab', 'pytest'} <= dev, dev      # they are in the `dev` extra, where they belong


def test_package_copy_is_searched_after_data_dirs(tmp_path, monkeypatch):
    "Where no data/ folder is near (an installed package), the package's own copy is found, and checked."
    pkg = tmp_path / 'site-packages' / 'dwm_tutorial' / D.PACKAGE_MINI
    shutil.copytree(next(d for d in D.data_dirs() if (d / D.MINI_NAME).is_dir()) / D.MINI_NAME, pkg)
    monkeypatch.setattr(D, 'data_dirs', lambda: [])
    monkeypatch.setattr(D, 'package_mini_dir', lambda: pkg)
    assert D.search_folders('mini') == [pkg]
    assert len(D.fashion_mnist('test', 'mini')) == 2_000
    (pkg / 't10k-labels-idx1-ubyte.gz').write_bytes(gzip.compress(b'\x00\x00\x08\x01\x00\x00\x00\x01\x07'))
    with pytest.raises(ValueError, match='checksum'): D.fashion_mnist('test', 'mini')
    shutil.rmtree(pkg)
    with pytest.raises(FileNotFoundError, match="install the package's wheel"): D.fashion_mnist('test', 'mini')


def runtime_closure(requirements) -> list[md.Distribution]:
    "The installed distributions that `requirements` (without extras) need, recursively."
    out, seen, todo = {}, set(), [(r, '') for r in requirements]
    while todo:
        req, extra = todo.pop()
        r = Requirement(req)
        if r.marker and not r.marker.evaluate({'extra': extra}): continue
        key = (canonicalize_name(r.name), frozenset(r.extras))
        if key in seen: continue
        seen.add(key)
        dist = md.distribution(r.name)
        out.setdefault(key[0], dist)
        todo += [(sub, e) for sub in dist.requires or [] for e in ('', *r.extras)]
    return list(out.values())


def _link_deps(dists, dest: Path):
    "A folder of symlinks to the top-level modules and metadata of `dists`, and nothing else."
    dest.mkdir()
    for dist in dists:
        files = [str(f) for f in dist.files or []] or (dist.read_text('top_level.txt') or '').split()
        tops = {f.split('/')[0] for f in files if not f.startswith('..')} | {Path(dist._path).name}
        for top in tops:
            src = Path(dist.locate_file(top))
            if top == '__pycache__' or top.endswith('.pth') or not src.exists() or (dest / top).exists(): continue
            (dest / top).symlink_to(src)


@pytest.mark.skipif(os.name != 'posix', reason='the venv layout (bin/) and PATH below are POSIX')
def test_installed_wheel_runs_offline_from_an_empty_folder(wheel, tmp_path):
    env_dir, deps, home = tmp_path / 'venv', tmp_path / 'deps', tmp_path / 'home'
    work = home / 'empty' / 'here'; work.mkdir(parents=True)
    venv.create(env_dir, with_pip=False)
    py = env_dir / 'bin' / 'python'
    site = Path(subprocess.run([py, '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'],
                               capture_output=True, text=True, check=True).stdout.strip())
    _link_deps(runtime_closure([r for r in _requires(wheel) if 'extra ==' not in r]), deps)
    (site / 'runtime_deps.pth').write_text(f'{deps}\n')
    # pip resolves the wheel's requirements against what the fresh venv can see, with no index at all
    r = subprocess.run([sys.executable, '-m', 'pip', '--python', str(py), 'install', '-q', '--no-index', str(wheel)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr

    env = {'PATH': f'{env_dir / "bin"}:/usr/bin:/bin', 'HOME': str(home), 'LANG': 'C.UTF-8', 'MPLBACKEND': 'Agg',
           'XDG_CACHE_HOME': str(home / '.cache'), 'TORCH_HOME': str(home / '.torch'), 'CUDA_VISIBLE_DEVICES': '',
           # no network: every HTTP(S) request goes to a closed local port
           'http_proxy': 'http://127.0.0.1:9', 'https_proxy': 'http://127.0.0.1:9', 'no_proxy': '',
           'HTTP_PROXY': 'http://127.0.0.1:9', 'HTTPS_PROXY': 'http://127.0.0.1:9', 'OMP_NUM_THREADS': '2'}
    check = ("import json, importlib.util, dwm_tutorial; from dwm_tutorial import data as D; "
             "print(json.dumps(dict(pkg=dwm_tutorial.__file__, dirs=[str(d) for d in D.data_dirs()], "
             "mini=str(D.package_mini_dir()), n=len(D.fashion_mnist('test', 'mini')), "
             "dev=[m for m in ('nbdev', 'fastcore', 'execnb', 'pytest', 'jupyterlab') if importlib.util.find_spec(m)])))")
    r = subprocess.run([py, '-c', check], cwd=work, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    assert Path(got['pkg']).is_relative_to(env_dir), got           # the wheel's package, not the checkout
    assert got['dirs'] == [] and Path(got['mini']).is_relative_to(env_dir) and got['n'] == 2_000, got
    assert got['dev'] == [], f"dev tools visible in the fresh venv: {got['dev']}"

    out = tmp_path / 'out'
    r = subprocess.run([env_dir / 'bin' / 'dwm-reproduce', '--max-steps', '2', '--methods', 'topk', '--sparsities', '0.8',
                        '--protocols', 'isolate', '--shifts', 'rot90', '--epochs', '1', '--device', 'cpu',
                        '--no-progress', '--out', str(out)], cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert (out / 'results.csv').is_file() and len((out / 'results.csv').read_text().splitlines()) >= 3   # finetune + isolate
    assert list(work.iterdir()) == []                                     # wrote only where --out said
