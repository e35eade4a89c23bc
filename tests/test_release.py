"""A release a registry accepts, and the GitHub workflows that run the project where it is published.

- The version in `dwm_tutorial/__init__.py`, the top entry of CHANGELOG.md and a release tag on HEAD agree.
- The workflows in .github/workflows/ do what the README says (CI runs .ci/run on pushes and pull requests with
  pip and apt caches; the docs workflow builds the site and deploys it to GitHub Pages from main), and actionlint,
  the checker `make actionlint` runs on them, catches a broken workflow.
- `make release-check` builds the sdist and, from it, the wheel into DWM_RELEASE_DIR and runs this file and
  tests/test_wheel.py on them: the tests of the built files below run there (elsewhere they are skipped)."""
import os, re, shutil, subprocess, tarfile, zipfile
from pathlib import Path

import pytest
import yaml

import dwm_tutorial

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / '.github' / 'workflows'
VERSION_RE = re.compile(r'^##\s+\[?v?(\d+\.\d+\.\d+[^\]\s]*)\]?', re.M)


def changelog_version(text: str) -> str | None:
    "The version of the newest entry of a changelog: its first `## X.Y.Z` heading (`## [X.Y.Z]` and `## vX.Y.Z` too)."
    m = VERSION_RE.search(text)
    return m.group(1) if m else None


def tag_problem(tags: list[str], version: str) -> str | None:
    "Why the release tags on a commit disagree with `version` (None when they agree or there is none)."
    rel = [t for t in tags if re.fullmatch(r'v?\d+\.\d+\.\d+.*', t)]
    bad = [t for t in rel if t.lstrip('v') != version]
    return f"tag {bad[0]} on HEAD but dwm_tutorial.__version__ is {version}: tag v{version} or bump the version" if bad else None


def test_changelog_top_entry_is_the_package_version():
    text = (ROOT / 'CHANGELOG.md').read_text()
    assert changelog_version(text) == dwm_tutorial.__version__, (
        f'CHANGELOG.md starts with {changelog_version(text)!r}, the package is {dwm_tutorial.__version__}: add an entry')


def test_changelog_and_tag_checks_can_fail():
    assert changelog_version('# Changelog\n\n## 0.2.0 - 2026-01-01\n\n## 0.1.0\n') == '0.2.0'
    assert changelog_version('# Changelog\n\n## [1.0.0rc1] - x\n') == '1.0.0rc1'
    assert changelog_version('# Changelog\n\nnothing yet\n') is None
    assert tag_problem(['v0.1.0', 'docs-ok'], '0.1.0') is None and tag_problem([], '0.1.0') is None
    assert 'tag v0.2.0' in tag_problem(['v0.2.0'], '0.1.0')


def test_a_release_tag_on_head_names_the_version():
    try: out = subprocess.run(['git', 'tag', '--points-at', 'HEAD'], cwd=ROOT, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError): pytest.skip('needs a git checkout')
    problem = tag_problem(out.stdout.split(), dwm_tutorial.__version__)
    assert problem is None, problem


# ---------------------------------------------------------------- the GitHub workflows
def workflow(name) -> dict:
    wf = yaml.safe_load((WORKFLOWS / name).read_text())
    wf['on'] = wf.pop(True, wf.get('on'))          # YAML 1.1 reads the key `on` as True
    return wf


def steps(job) -> list[dict]: return job.get('steps', [])


def test_ci_workflow_runs_ci_run_on_pushes_and_pull_requests_with_caches():
    wf = workflow('ci.yml')
    assert {'push', 'pull_request'} <= set(wf['on']), wf['on']
    (job,) = wf['jobs'].values()
    runs = [s.get('run', '') for s in steps(job)]
    assert any(re.search(r'(^|\s)(bash )?\.ci/run\b', r) for r in runs), runs
    cached = ' '.join(str(s.get('with', {}).get('path', '')) for s in steps(job) if str(s.get('uses', '')).startswith('actions/cache@'))
    assert '.cache/pip' in cached and 'apt/archives' in cached, cached
    assert any('dataset-fashion-mnist' in r for r in runs), 'the full data (Debian package) is installed from the apt cache'


def test_docs_workflow_builds_the_site_and_deploys_it_to_pages_from_main():
    wf = workflow('docs.yml')
    assert wf['on']['push']['branches'] == ['main'], wf['on']
    build, deploy = wf['jobs']['build'], wf['jobs']['deploy']
    assert any('make docs' in s.get('run', '') for s in steps(build))
    up = next(s for s in steps(build) if str(s.get('uses', '')).startswith('actions/upload-pages-artifact@'))
    assert up['with']['path'] == '_docs'
    assert any(str(s.get('uses', '')).startswith('actions/deploy-pages@') for s in steps(deploy))
    assert deploy['permissions'] == {'pages': 'write', 'id-token': 'write'} and 'main' in deploy['if']


def _actionlint():
    exe = shutil.which('actionlint', path=str(Path(os.sys.executable).parent)) or shutil.which('actionlint')
    if not exe: pytest.skip('actionlint is not installed (make actionlint installs it)')
    return exe


def test_actionlint_passes_and_catches_a_broken_workflow(tmp_path):
    exe = _actionlint()
    r = subprocess.run([exe, '-color=false', *map(str, sorted(WORKFLOWS.glob('*.yml')))], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    broken = (WORKFLOWS / 'ci.yml').read_text().replace('runs-on: ubuntu-latest', 'runs-on: ubuntu-latest\n    timeout-minutes: ${{ matrix.nope }}')
    broken = broken.replace('${{ github.ref }}', '${{ github.refz }}')
    (tmp_path / 'ci.yml').write_text(broken)
    r = subprocess.run([exe, '-color=false', str(tmp_path / 'ci.yml')], capture_output=True, text=True)
    assert r.returncode != 0 and 'refz' in r.stdout, r.stdout + r.stderr


# ---------------------------------------------------------------- the built release (make release-check)
@pytest.fixture(scope='module')
def release() -> Path:
    d = os.environ.get('DWM_RELEASE_DIR')
    if not d: pytest.skip('checks the files `make release-check` builds (DWM_RELEASE_DIR)')
    return Path(d)


def test_release_holds_one_sdist_and_one_wheel_of_the_version(release):
    v = dwm_tutorial.__version__
    assert sorted(p.name for p in release.iterdir()) == [f'dwm_tutorial-{v}-py3-none-any.whl', f'dwm_tutorial-{v}.tar.gz']


def test_sdist_carries_what_a_build_needs_and_nothing_local(release):
    (sdist,) = release.glob('*.tar.gz')
    with tarfile.open(sdist) as t: names = [n.split('/', 1)[1] for n in t.getnames() if '/' in n]
    for need in ('pyproject.toml', 'README.md', 'dwm_tutorial/__init__.py', 'dwm_tutorial/cli.py',
                 *(f'data/fashion-mnist-mini/{f}-idx{d}-ubyte.gz' for f, d in
                   (('train-images', 3), ('train-labels', 1), ('t10k-images', 3), ('t10k-labels', 1)))):
        assert need in names, f'{need} missing from the sdist'
    local = [n for n in names if n.split('/')[0] in ('.venv', 'results', '_docs', '_proc', '_docs_build', 'dist', 'build', '.git')]
    assert not local, local[:5]


def test_wheel_metadata_is_what_a_registry_shows(release):
    (whl,) = release.glob('*.whl')
    with zipfile.ZipFile(whl) as z:
        meta = z.read(next(n for n in z.namelist() if n.endswith('.dist-info/METADATA'))).decode()
    head = meta.split('\n\n', 1)[0]
    assert re.search(r'^Name: dwm-tutorial$', head, re.M) and f'Version: {dwm_tutorial.__version__}' in head
    assert 'Description-Content-Type: text/markdown' in head and 'Requires-Python: >=3.10' in head
    assert re.search(r'^Project-URL: Repository, https://github\.com/', head, re.M), head
    assert '# dwm-tutorial' in meta.split('\n\n', 1)[1]                     # the README is the long description
