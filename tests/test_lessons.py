"The lessons keep the shape a course needs: objectives, papers, equations, exercises with checked solutions, a summary."
import json, re
from pathlib import Path

import pytest

TUT = Path(__file__).resolve().parent.parent / 'nbs' / 'tutorials'
METHOD_LESSONS = {'04_ste_masks': '1801.06519', '05_gumbel_masks': '2010.02066', '06_topk_masks': '1911.13299'}
NEW_LESSONS = ['02_protocols', '03_masked_layer']
LESSONS = sorted(p.stem for p in TUT.glob('*.ipynb'))        # every notebook of the course: lessons 1-7, 20 and the playground


def cells(name):
    return json.loads((TUT / f'{name}.ipynb').read_text())['cells']


def text(cs, kind='markdown'):
    return '\n'.join(''.join(c['source']) for c in cs if c['cell_type'] == kind)


def solutions(cs):
    "The cells after the '## Solutions' heading."
    i = next(i for i, c in enumerate(cs) if c['cell_type'] == 'markdown' and re.search(r'^## Solutions', ''.join(c['source']), re.M))
    return cs[i + 1:]


def test_every_lesson_is_checked():
    assert len(LESSONS) >= 9 and {'01_forgetting', '07_many_domains', '08_reproduce', '09_sparsity_playground'} <= set(LESSONS)


@pytest.mark.parametrize('name', LESSONS)
def test_lesson_shape(name):
    cs = cells(name)
    md = text(cs)
    assert re.search(r'By the end of this (lesson|notebook) you can', md), f'{name}: no learning objectives'
    assert '**Prerequisites**' in md, f'{name}: no prerequisites'
    assert '## What to remember' in md, f'{name}: no "What to remember"'
    ex = re.search(r'## Exercises\n(.*?)(?=\n## |\Z)', md, re.S)
    assert ex, f'{name}: no Exercises section'
    n_ex = len(re.findall(r'^\d+\. ', ex.group(1), re.M))
    assert n_ex >= 3, f'{name}: {n_ex} exercises, want at least 3'
    sol = solutions(cs)
    checked = [c for c in sol if c['cell_type'] == 'code' and 'assert' in ''.join(c['source'])]
    assert len(checked) >= n_ex, f'{name}: {len(checked)} solution cells with an assertion for {n_ex} exercises'
    assert 'PLACEHOLDER' not in md, f'{name}: unfinished prose'


@pytest.mark.parametrize('name', list(METHOD_LESSONS))
def test_method_lessons_cite_and_derive(name):
    md = text(cells(name))
    assert f'arxiv.org/abs/{METHOD_LESSONS[name]}' in md, f'{name}: no link to its paper'
    assert len(re.findall(r'\$\$.+?\$\$|\$[^$\n]+\$', md, re.S)) >= 5, f'{name}: too few equations'


def test_the_ste_is_derived_and_checked():
    cs = cells('03_masked_layer')
    src = text(cs, 'code')
    assert 'gradcheck' in src and 'add_masks' in src and 'parametrize.register_parametrization' in src


def test_protocols_lesson_defines_every_protocol():
    md = text(cells('02_protocols'))
    for p in ('finetune', 'protect', 'isolate', 'adapt'): assert f'`{p}`' in md
    for w in ('**kept**', '**pruned**', '**free**', '**frozen**'): assert w in md
    for ref in ('1711.05769', '1801.06519', '2006.14769'): assert ref in md


def test_protocols_lesson_needs_no_later_lesson():
    "Lesson 2 comes before mask learning (lessons 3-6): it learns no mask and runs no `adapt`; its source mask is PackNet's, built by hand and checked against `source_mask`."
    code = text(cells('02_protocols'), 'code')
    calls = '\n'.join(l for l in code.splitlines() if not l.lstrip().startswith('#'))
    for later in ("'ste'", "'gumbel'", "'topk'", 'learn_masks', "'adapt'", 'add_masks'):
        assert later not in calls, f'lesson 2 uses {later}, which a later lesson builds'
    assert 'def magnitude_mask' in code and "'magnitude_retrain'" in code and 'def freeze_kept' in code


def check_fits_a_screen(name, cs, max_cell, max_line=100):
    "Every code cell of notebook `name` (its cells `cs`) has at most `max_cell` lines of at most `max_line` characters."
    for c in cs:
        if c['cell_type'] != 'code': continue
        lines = ''.join(c['source']).splitlines()
        assert len(lines) <= max_cell, f"{name}: cell {c.get('id')} has {len(lines)} lines: split it"
        long = [l for l in lines if len(l) > max_line]
        assert not long, f"{name}: cell {c.get('id')} has lines over {max_line} characters: {long[0][:60]}..."


@pytest.mark.parametrize('name', LESSONS)
def test_lesson_code_fits_a_screen(name):
    "Code lines of at most 100 characters and code cells of at most 20 lines, so a lesson reads without scrolling sideways."
    check_fits_a_screen(name, cells(name), 20)


HARNESS = re.compile(r'\bquick\b|\bin_test\(|\bfull=|\.full\b(?!\s*\()')   # `.full`, but not `torch.full(`


@pytest.mark.parametrize('name', LESSONS)
def test_lesson_hides_its_test_harness(name):
    "Test-mode switches and their asserts live in `#| hide` cells: the code a student reads never says `quick`, `in_test(`, `full=` or `.full`."
    for c in cells(name):
        src = ''.join(c['source'])
        if c['cell_type'] != 'code' or re.search(r'^#\|\s*hide\s*$', src, re.M): continue
        hits = [l for l in src.splitlines() if HARNESS.search(l)]
        assert not hits, f"{name}: cell {c.get('id')} shows the test harness: {hits[0].strip()[:80]}"


@pytest.mark.parametrize('name', LESSONS)
def test_lessons_need_no_dev_tools(name):
    "A lesson runs from `pip install dwm-tutorial` (Colab, a fresh venv): no import of what only the `dev` extra installs."
    src = text(cells(name), 'code')
    for tool in ('fastcore', 'nbdev', 'pytest', 'execnb'):
        assert not re.search(rf'^\s*(from|import)\s+{tool}\b', src, re.M), f'{name} imports {tool}, a dev tool'


def outputs_text(cs) -> str:
    "Everything the committed code cells printed (streams and text results)."
    out = []
    for c in cs:
        for o in c.get('outputs', []):
            out.append(''.join(o.get('text', '')) + ''.join(o.get('data', {}).get('text/plain', '')))
    return '\n'.join(out)


@pytest.mark.parametrize('name', LESSONS)
def test_lesson_draws_the_running_figure(name):
    "Every lesson shows the course's running picture, drawn (an image in the committed output) by report.plot_course."
    cs = [c for c in cells(name) if c['cell_type'] == 'code' and 'plot_course(' in ''.join(c['source'])]
    assert cs, f'{name}: no cell draws the course figure (report.plot_course)'
    assert any('image/png' in o.get('data', {}) for c in cs for o in c.get('outputs', [])), f'{name}: the figure has no committed image'


def test_course_reference_matches_the_lessons():
    "The reference points shipped with the package are the ones the committed lessons computed: each lesson that saves points prints them."
    import sys
    sys.path.insert(0, str(TUT.parent.parent / 'tools'))
    from course_reference import saving_lessons
    ref = json.loads((TUT.parent.parent / 'dwm_tutorial' / 'course_reference.json').read_text())['lessons']
    lessons = saving_lessons()
    assert sorted(map(int, ref)) == sorted(lessons), f'reference lessons {sorted(ref)}, lessons that save points {sorted(lessons)}: run tools/course_reference.py'
    for n, points in ref.items():
        printed = outputs_text(cells(lessons[int(n)]))
        for p in points:
            for k in ('retention', 'relative_target'):
                assert f'{p[k]:.3f}' in printed, f'lesson {n}: {p["label"]} {k} {p[k]:.3f} is not in its outputs (re-run it, then tools/course_reference.py)'
