"""A notebook opened in JupyterLab and saved must come back byte for byte as committed, so `git status` stays clean.

What a save does, replayed without a browser: JupyterLab sends the notebook as JSON that JavaScript has parsed (so a
number written 158.0 comes back as 158), jupyter_server runs nbdev's pre-save hook (`make setup` installs it with
`nbdev-install-hooks`; it cleans only because pyproject.toml sets `jupyter_hooks = true`) and writes the result with
nbformat. `tools/jupyterlab_check.py` (make lab-browser) does the same for real, in JupyterLab and Chromium."""
import importlib.util, json, tomllib
from pathlib import Path
from unittest import mock

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted([*(ROOT / 'nbs').glob('*.ipynb'), *(ROOT / 'nbs/tutorials').glob('*.ipynb')])
nbformat = pytest.importorskip('nbformat')
nbdev_clean = pytest.importorskip('nbdev.clean')


def js_number(s: str):
    "A JSON number as JavaScript reads it: 158.0 is the integer 158."
    f = float(s)
    return int(f) if f.is_integer() and abs(f) < 2 ** 53 else f


def saved_by_jupyterlab(path: Path) -> str:
    "The text jupyter_server writes when JupyterLab saves `path` unchanged, with nbdev's hook in place."
    model = dict(type='notebook', content=json.loads(path.read_text(), parse_float=js_number))
    # the hook also signs the notebook (nbdev_trust) and leaves a .last_checked mark: not wanted in a test
    with mock.patch.object(nbdev_clean, 'nbdev_trust', mock.Mock(__wrapped__=lambda *a, **k: None)):
        nbdev_clean.clean_jupyter(path=str(path), model=model)
    text = nbformat.writes(nbformat.from_dict(model['content']), version=nbformat.NO_CONVERT)
    return text if text.endswith('\n') else text + '\n'


def test_jupyter_hooks_are_on():
    cfg = tomllib.loads((ROOT / 'pyproject.toml').read_text())['tool']['nbdev']
    assert cfg.get('jupyter_hooks') is True, "without jupyter_hooks = true nbdev's save hook does nothing"


@pytest.mark.parametrize('path', NOTEBOOKS, ids=[p.relative_to(ROOT / 'nbs').as_posix() for p in NOTEBOOKS])
def test_open_and_save_changes_nothing(path):
    assert saved_by_jupyterlab(path) == path.read_text(), (
        f'{path.name}: saved in JupyterLab it would differ from the committed file; run nbdev-clean on it, and '
        f'tools/strip_progress.py if it keeps widget state in its metadata')


def _strip_progress():
    spec = importlib.util.spec_from_file_location('strip_progress', ROOT / 'tools/strip_progress.py')
    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
    return mod


def _nb(tmp_path, outputs):
    state = {'abc': {'model_name': 'FloatProgressModel', 'state': {'max': 158.0, 'value': 158.0}}}
    nb = dict(cells=[dict(cell_type='code', execution_count=None, id='c1', metadata={}, outputs=outputs, source=['1'])],
              metadata=dict(kernelspec=dict(display_name='python3', language='python', name='python3'),
                            widgets={'application/vnd.jupyter.widget-state+json': dict(state=state, version_major=2, version_minor=0)}),
              nbformat=4, nbformat_minor=5)
    p = tmp_path / 'x.ipynb'
    p.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + '\n')
    return p


def test_the_replay_sees_widget_state_and_strip_progress_removes_it(tmp_path):
    view = dict(output_type='display_data', metadata={},
                data={'application/vnd.jupyter.widget-view+json': dict(model_id='abc', version_major=2, version_minor=0),
                      'text/plain': 'fit:   0%|          | 0/158'})
    p = _nb(tmp_path, [view])
    (tmp_path / 'pyproject.toml').write_text((ROOT / 'pyproject.toml').read_text())   # nbdev's hook reads the project's config
    nbdev_clean.nbdev_clean(fname=str(p))                                             # clean as committed, state and all
    assert saved_by_jupyterlab(p) != p.read_text()                                    # 158.0 -> 158: a diff nobody made
    assert _strip_progress().strip(p) == 2                                            # the view, then the orphaned state
    assert 'widgets' not in json.loads(p.read_text())['metadata']
    nbdev_clean.nbdev_clean(fname=str(p))
    assert saved_by_jupyterlab(p) == p.read_text()

