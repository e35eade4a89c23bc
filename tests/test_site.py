"""tools/check_site.py, the static check of the docs site that `make test` runs after `make docs`, is itself
checked here: on a small good site it finds nothing, and each way of breaking that site is caught."""
import json, sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'tools'))
from check_site import check_site, expected_pages  # noqa: E402

PNG = bytes.fromhex('89504e470d0a1a0a0000000d4948445200000001000000010806000000'
                    '1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082')


def _api_link():
    "One place nbdev links an API name to: `page.html#anchor` from the package's _modidx.py."
    from dwm_tutorial._modidx import d
    return next(v[0] for mod in d['syms'].values() for v in mod.values())


def _page(body, depth=0):
    up = '../' * depth
    return (f'<!doctype html><html><head><link rel="stylesheet" href="{up}_static/site.css">'
            f'<script src="{up}_static/search.js"></script></head><body>{body}</body></html>')


@pytest.fixture
def site(tmp_path):
    "A minimal good site for the notebooks index, 00_data, 02_masks and tutorials/01_forgetting."
    nbs, site = tmp_path / 'nbs', tmp_path / 'site'
    for nb in ('index.ipynb', '00_data.ipynb', '02_masks.ipynb', 'tutorials/01_forgetting.ipynb'):
        (nbs / nb).parent.mkdir(parents=True, exist_ok=True); (nbs / nb).write_text('{}')
    api = _api_link()
    page, anchor = api.split('#')
    (site / '_static').mkdir(parents=True); (site / '_images').mkdir(); (site / 'tutorials').mkdir()
    (site / '_static' / 'site.css').write_text('body { background: url(bg.png); }')
    (site / '_static' / 'bg.png').write_bytes(PNG)
    (site / '_static' / 'search.js').write_text('')
    (site / '_images' / 'plot.png').write_bytes(PNG)
    pages = {'index.html': _page(f'<h1 id="top">Home</h1><a href="{api}">the API</a> <a href="tutorials/forgetting.html#lesson">'
                                 'lesson</a> <a href="https://github.com/x/y">repo</a> <img src="_images/plot.png">'),
             'data.html': _page('<h1 id="data">Data</h1>'), 'masks.html': _page('<h1 id="masks">Masks</h1>'),
             'tutorials/forgetting.html': _page('<section id="lesson"><a href="../index.html#top">home</a>'
                                                '<img src="../_images/plot.png"></section>', depth=1),
             'search.html': _page('<form><input name="q"></form>')}
    pages[page] = pages.get(page, _page('')).replace('</body>', f'<section id="{anchor}"><h2>entry</h2></section></body>')
    for rel, html in pages.items(): (site / rel).write_text(html)
    idx = dict(docnames=['index', 'data', 'masks', 'tutorials/forgetting', 'search'],
               titles=['Home', 'Data', 'Masks', 'Lesson', 'Search'], alltitles={'learn_masks': [[2, 'learn_masks']]}, terms={})
    (site / 'searchindex.js').write_text(f'Search.setIndex({json.dumps(idx)})')
    return site, nbs


def test_expected_pages_use_nbdev_names(site):
    _, nbs = site
    assert expected_pages(nbs) == {'index.ipynb': 'index.html', '00_data.ipynb': 'data.html', '02_masks.ipynb': 'masks.html',
                                   'tutorials/01_forgetting.ipynb': 'tutorials/forgetting.html'}


def test_a_good_site_passes(site):
    assert check_site(*site) == []


def test_syntax_named_as_inline_code_is_not_raw_text(site):
    s, nbs = site
    _edit(s / 'data.html', '<h1 id="data">Data</h1>', '<h1 id="data">Data</h1><p>no <code>VBox(</code> or <code>:::</code> shown</p>')
    assert check_site(s, nbs) == []


def _edit(path, old, new):
    t = path.read_text(); assert old in t, (old, path); path.write_text(t.replace(old, new))


BREAKS = {   # name: (file, old, new, the start of the problem line it must give)
    'missing page':      (None, 'tutorials/forgetting.html', None, 'tutorials/forgetting.html: missing'),
    'broken link':       ('index.html', 'tutorials/forgetting.html#lesson', 'tutorials/forgotten.html#lesson', 'index.html: <a>'),
    'broken anchor':     ('index.html', 'forgetting.html#lesson', 'forgetting.html#lessons', 'index.html: <a>'),
    'root-relative':     ('index.html', 'href="tutorials/forgetting.html#lesson"', 'href="/tutorials/forgetting.html#lesson"',
                          'index.html: <a>'),
    'missing image':     ('index.html', '_images/plot.png', '_images/plots.png', 'index.html: <img>'),
    'not an image':      ('_images/plot.png', None, b'<html>not found</html>', 'index.html: <img>'),
    'cdn script':        ('data.html', '</head>', '<script src="https://cdn.jsdelivr.net/npm/x.js"></script></head>',
                          'data.html: <script> loads'),
    'cdn css':           ('data.html', '</head>', '<link rel="stylesheet" href="//fonts.example.com/f.css"></head>',
                          'data.html: <link> loads'),
    'css url from host': ('_static/site.css', 'url(bg.png)', 'url(https://example.com/bg.png)', '_static/site.css: url('),
    'widget text':       ('data.html', '<h1 id="data">Data</h1>', '<h1 id="data">Data</h1><pre>VBox(children=(IntSlider(value=1),))</pre>',
                          "data.html: shows widget text 'VBox('"),
    'callout':           ('data.html', '<h1 id="data">Data</h1>', '<h1 id="data">Data</h1><p>::: {.callout-note}</p>',
                          "data.html: shows raw syntax ':::'"),
    'link attributes':   ('data.html', '<h1 id="data">Data</h1>', '<h1 id="data">Data</h1><p>source{target="_blank"}</p>',
                          "data.html: shows raw syntax '{target='"),
    'no API link':       ('index.html', '>the API</a>', '>the API</a>', 'no page links an API name'),
    'no search index':   (None, 'searchindex.js', None, 'searchindex.js: missing'),
    'page not indexed':  ('searchindex.js', '"masks", ', '', 'searchindex.js: masks.html is not indexed'),
    'name not indexed':  ('searchindex.js', 'learn_masks', 'something_else', 'searchindex.js: \'learn_masks\''),
}


@pytest.mark.parametrize('name', BREAKS)
def test_a_broken_site_is_caught(site, name):
    s, nbs = site
    f, old, new, want = BREAKS[name]
    if f is None: (s / old).unlink()
    elif name == 'no API link':
        api = _api_link(); _edit(s / 'index.html', f'href="{api}"', f'href="{api.split("#")[0]}"')
    elif isinstance(new, bytes): (s / f).write_bytes(new)
    else: _edit(s / f, old, new)
    bad = check_site(s, nbs)
    assert any(b.startswith(want) for b in bad), bad
