"""settings.ini (read by nbdev 2) mirrors pyproject.toml (read by nbdev 3): the two must say the same thing.

`config_mismatches` compares a project folder's settings.ini with its pyproject.toml and
`dwm_tutorial/__init__.py`; the tests run it on the repository (no mismatch allowed) and on broken
copies (each break must be caught), so the check itself is known to work."""
import configparser, re, shutil, tomllib
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parent.parent

# settings.ini keys that nbdev 2 knows (its `_apply_defaults` and optional keys) and that
# pyproject.toml has no place for: they only need to be there, with nbdev 2's meaning.
NBDEV2_ONLY = {'update_pyproject', 'black_formatting', 'audience', 'language', 'status', 'copyright',
               'allowed_metadata_keys', 'allowed_cell_metadata_keys', 'skip_procs', 'conda_user', 'package_data'}
# keys an nbdev 2 project needs so that nothing falls back to git or the folder name
REQUIRED = {'repo', 'lib_name', 'version', 'min_python', 'lib_path', 'nbs_path', 'doc_path', 'recursive', 'tst_flags',
            'put_version_in_init', 'update_pyproject', 'readme_nb', 'clean_ids', 'branch', 'doc_host', 'doc_baseurl',
            'git_url', 'title', 'user', 'description', 'keywords', 'requirements', 'dev_requirements', 'console_scripts'}


def read_settings(path) -> dict[str, str]:
    "settings.ini's [DEFAULT] section, parsed as nbdev 2 parses it (fastcore's Config: a plain ConfigParser)."
    cp = configparser.ConfigParser()
    cp.read_string(Path(path).read_text())
    return {k: cp.get('DEFAULT', k) for k in cp.defaults()}


def _norm(v) -> str:
    "One spelling for TOML and ini values: booleans as true/false, everything else as its text."
    if isinstance(v, bool): return str(v).lower()
    v = str(v).strip()
    return v.lower() if v.lower() in ('true', 'false') else v


def _nbdev3_defaults() -> dict:
    try: from nbdev.config import nbdev_defaults
    except ImportError: return {}
    return nbdev_defaults


def config_mismatches(root) -> list[str]:
    "Every way `root`'s settings.ini disagrees with its pyproject.toml and package version (empty: in step)."
    root = Path(root)
    ini = read_settings(root / 'settings.ini')
    toml = tomllib.loads((root / 'pyproject.toml').read_text())
    proj, nb = toml['project'], toml['tool']['nbdev']
    bad = []
    def same(key, want, got=None):
        got = ini.get(key) if got is None else got
        if key not in ini: bad.append(f'{key}: missing from settings.ini (pyproject.toml: {want!r})')
        elif _norm(got) != _norm(want): bad.append(f'{key}: settings.ini {got!r} != pyproject.toml {want!r}')

    # 1. [tool.nbdev] key by key (a key added there must be added to settings.ini too)
    for k, v in nb.items():
        if k == 'tst_flags': same(k, ' '.join(str(v).split()), ' '.join(ini.get(k, '').split()))
        else: same(k, v)
    # 2. nbdev 3's defaults for what [tool.nbdev] leaves out, where settings.ini spells it out
    for k, v in _nbdev3_defaults().items():
        if k not in nb and k in ini and isinstance(v, (bool, int, str)): same(k, v)
    # 3. what nbdev 3 takes from [project]
    urls = proj.get('urls', {})
    git_url = (urls.get('Repository') or urls.get('Source') or '').rstrip('/')
    doc = urlparse(urls.get('Documentation') or '')
    user, repo = (git_url.split('/')[-2:] if git_url else ('', proj['name']))
    derived = dict(lib_name=proj['name'], description=proj.get('description', ''), title=nb.get('title', proj['name']),
                   min_python=proj.get('requires-python', '').lstrip('>='), license=proj.get('license', ''),
                   author=(proj.get('authors') or [{}])[0].get('name', ''),
                   author_email=(proj.get('authors') or [{}])[0].get('email', ''),
                   keywords=' '.join(proj.get('keywords', [])), git_url=git_url, user=user, repo=repo,
                   doc_host=f'{doc.scheme}://{doc.netloc}' if doc.scheme else '', doc_baseurl=(doc.path or '/').rstrip('/') or '/',
                   requirements=' '.join(proj.get('dependencies', [])),
                   dev_requirements=' '.join(proj.get('optional-dependencies', {}).get('dev', [])),
                   console_scripts=' '.join(f'{k}={v}' for k, v in proj.get('scripts', {}).items()))
    for k, v in derived.items():
        if k in nb: continue                                   # [tool.nbdev] overrides were compared above
        if k in ('requirements', 'dev_requirements', 'console_scripts', 'keywords'):
            same(k, v, ' '.join(ini.get(k, '').split()))
        else: same(k, v)
    # 4. the version nbdev 2 writes into __init__.py must be the one already there
    m = re.search(r'^__version__\s*=\s*["\']([^"\']+)["\']', (root / 'dwm_tutorial' / '__init__.py').read_text(), re.M)
    same('version', m.group(1) if m else None)
    # 5. nbdev 2 must not rewrite pyproject.toml
    if _norm(ini.get('update_pyproject', 'true')) != 'false':
        bad.append('update_pyproject: must be False in settings.ini, or nbdev 2 rewrites pyproject.toml')
    # 6. nothing missing, nothing unknown (a typo would be silently ignored by nbdev 2)
    for k in sorted(REQUIRED - ini.keys()):
        if not any(b.startswith(f'{k}:') for b in bad): bad.append(f'{k}: missing from settings.ini')
    known = set(nb) | set(derived) | set(_nbdev3_defaults()) | NBDEV2_ONLY | REQUIRED
    bad += [f'{k}: unknown key in settings.ini' for k in sorted(ini.keys() - known)]
    return bad


def test_settings_ini_mirrors_pyproject():
    assert config_mismatches(ROOT) == []


def test_settings_version_is_package_version():
    import dwm_tutorial
    assert read_settings(ROOT / 'settings.ini')['version'] == dwm_tutorial.__version__


def test_nbdev2_does_not_rewrite_pyproject():
    assert read_settings(ROOT / 'settings.ini')['update_pyproject'] == 'False'


@pytest.fixture
def copy(tmp_path):
    "A copy of the three files the check reads."
    for f in ('settings.ini', 'pyproject.toml', 'dwm_tutorial/__init__.py'):
        (tmp_path / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / f, tmp_path / f)
    assert config_mismatches(tmp_path) == []
    return tmp_path


def _edit(path, pattern, repl):
    text = path.read_text()
    new, n = re.subn(pattern, repl, text, count=1, flags=re.M)
    assert n == 1, f'{pattern!r} not found in {path.name}'
    path.write_text(new)


INI_BREAKS = {
    'lib_path':         (r'^lib_path = .*$', 'lib_path = dwm'),
    'nbs_path':         (r'^nbs_path = .*$', 'nbs_path = notebooks'),
    'doc_path':         (r'^doc_path = .*$', 'doc_path = docs'),
    'tst_flags':        (r'^tst_flags = .*$', 'tst_flags = notest'),
    'recursive':        (r'^recursive = .*$', 'recursive = False'),
    'clean_ids':        (r'^clean_ids = .*$', 'clean_ids = False'),
    'readme_nb':        (r'^readme_nb = .*$', 'readme_nb = README.ipynb'),
    'put_version_in_init': (r'^put_version_in_init = .*$', 'put_version_in_init = False'),
    'cell_timeout':     (r'^cell_timeout = .*$', 'cell_timeout = 60'),
    'jupyter_hooks':    (r'^jupyter_hooks = .*$', 'jupyter_hooks = False'),
    'version':          (r'^version = .*$', 'version = 0.0.9'),
    'lib_name':         (r'^lib_name = .*$', 'lib_name = dwm_tutorial2'),
    'requirements':     (r'^requirements = .*$', 'requirements = torch'),
    'update_pyproject': (r'^update_pyproject = .*$', 'update_pyproject = True'),
    'git_url':          (r'^git_url =.*$', 'git_url = https://github.com/someone/dwm-tutorial'),
    'lib_pathx':        (r'^lib_path = ', 'lib_pathx = '),       # a typo: unknown key, and lib_path missing
}


def test_missing_update_pyproject_is_caught(copy):
    _edit(copy / 'settings.ini', r'^update_pyproject = .*\n', '')
    assert any(b.startswith('update_pyproject:') for b in config_mismatches(copy))


PYPROJECT_BREAKS = {    # pyproject.toml changes that settings.ini must follow
    'strip_libs':   (r'^strip_libs = .*$', 'strip_libs = "dwm_tutorial dwm"'),
    'nbs_path':     (r'^nbs_path = .*$', 'nbs_path = "notebooks"'),
    'tst_flags':    (r'^tst_flags = .*$', 'tst_flags = "notest slow gpu"'),
    'requirements': (r'^dependencies = \[$', 'dependencies = [\n    "pandas",'),
    'git_url':      (r'^Repository = .*$', 'Repository = "https://github.com/someone/dwm-tutorial"'),
    'description':  (r'^description = .*$', 'description = "something else"'),
}


BREAKS = [('settings.ini', k, *v) for k, v in INI_BREAKS.items()] + [('pyproject.toml', k, *v) for k, v in PYPROJECT_BREAKS.items()]


@pytest.mark.parametrize('fname,key,pattern,repl', BREAKS, ids=[f'{f}:{k}' for f, k, *_ in BREAKS])
def test_a_change_in_one_config_file_is_caught(copy, fname, key, pattern, repl):
    "A broken settings.ini, or a pyproject.toml change not mirrored in it, is named by its key."
    _edit(copy / fname, pattern, repl)
    bad = config_mismatches(copy)
    assert any(b.startswith(f'{key}:') for b in bad), bad


def test_a_version_bump_not_mirrored_is_caught(copy):
    _edit(copy / 'dwm_tutorial' / '__init__.py', r'^__version__ = .*$', '__version__ = "0.2.0"')
    assert any(b.startswith('version:') for b in config_mismatches(copy))
