"""Static check of the built documentation site (no browser): `python tools/check_site.py [_docs]`.

Fails (exit 1, one line per problem) unless:
- every page the notebooks should give is there: index.html, each nbs/0*.ipynb (API) and nbs/tutorials/*.ipynb
  (lessons), under nbdev's page names (02_masks.ipynb -> masks.html);
- every in-site reference resolves: <a href>, <link href>, <script src>, <img src/srcset>, <iframe>/<source>/... src,
  and url(...) in CSS, to an existing file, and every #fragment to an id (or name) on the target page;
- nothing is loaded from another host: no http(s):// or //host reference in src, <link href>, CSS url()/@import
  (plain <a href> links to other sites are navigation, not loads, and are allowed);
- every image file is a real, non-empty image;
- no page shows widget text (`VBox(`, `HBox(`, `IntProgress(`, ...) or raw Pandoc/Quarto/nbdev syntax (`:::`,
  `{.callout`, `{target=`, `#| `) in its visible text (outputs and code blocks included; inline code in prose,
  where the text names such syntax on purpose, excepted);
- API names are linked: at least one link to an API entry (a show_doc anchor such as masks.html#learn_masks),
  each of those resolves;
- search works offline: searchindex.js lists every page and knows the API names (e.g. `learn_masks`).
The helpers are importable so that tests/test_site.py can run them on broken copies."""
import json, re, sys
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
WIDGET_TEXT = ('VBox(', 'HBox(', 'IntProgress(', 'FloatProgress(', 'IntSlider(', 'FloatSlider(', 'Dropdown(',
               'Output()', 'Button(', 'Checkbox(', 'Label(value=')
RAW_SYNTAX = (':::', '{.callout', '{target=', '{#', '#| ', 'output-file:', '<!-- WARNING', '$$', '$\\')   # the last two: untypeset math
SEARCH_NAMES = ('learn_masks',)
LOAD_ATTRS = {('script', 'src'), ('img', 'src'), ('iframe', 'src'), ('source', 'src'), ('video', 'src'),
              ('audio', 'src'), ('embed', 'src'), ('object', 'data'), ('input', 'src'), ('track', 'src'),
              ('video', 'poster'), ('image', 'href'), ('use', 'href')}


class Page(HTMLParser):
    "The references, ids and visible text of one HTML page."
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids, self.refs, self.text, self.imgs, self._skip = set(), [], [], [], 0
        self._pre, self._code = 0, 0     # inline code (`VBox(` written as code in prose) is not shown raw text

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for k in ('id', 'name' if tag == 'a' else None):
            if k and a.get(k): self.ids.add(a[k])
        if tag in ('script', 'style', 'template'): self._skip += 1
        if tag == 'pre': self._pre += 1
        if tag == 'code' and not self._pre: self._code += 1
        if tag == 'a' and a.get('href') is not None: self.refs.append(('link', tag, a['href']))
        if tag == 'link' and a.get('href'):
            rel = (a.get('rel') or '').lower()
            self.refs.append(('link' if rel in ('canonical', 'alternate', 'next', 'prev', 'search', 'index') else 'load', tag, a['href']))
        for t, k in LOAD_ATTRS:
            if tag == t and a.get(k): self.refs.append(('load', tag, a[k]))
            if tag == t and k == 'href' and a.get('xlink:href'): self.refs.append(('load', tag, a['xlink:href']))
        if a.get('srcset'):
            for part in a['srcset'].split(','):
                if part.strip(): self.refs.append(('load', tag, part.split()[0]))
        if a.get('style'):
            for u in css_urls(a['style']): self.refs.append(('load', tag, u))
        if tag == 'img': self.imgs.append(a.get('src', ''))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs); self.handle_endtag(tag)

    def handle_endtag(self, tag):
        if tag in ('script', 'style', 'template') and self._skip: self._skip -= 1
        if tag == 'pre' and self._pre: self._pre -= 1
        if tag == 'code' and self._code: self._code -= 1

    def handle_data(self, data):
        if not self._skip and not self._code: self.text.append(data)


def css_urls(css):
    "url(...) and @import targets in CSS text."
    urls = [m.group(2) for m in re.finditer(r'url\(\s*([\'"]?)([^\'")]+)\1\s*\)', css)]
    urls += [m.group(1) for m in re.finditer(r'@import\s+[\'"]([^\'"]+)[\'"]', css)]
    return [u for u in urls if not u.startswith('data:') and not u.startswith('#')]


def external(url):
    s = urlsplit(url)
    return bool(s.netloc) or s.scheme not in ('', 'data', 'mailto', 'javascript', 'about', 'blob')


def expected_pages(nbs=ROOT / 'nbs'):
    "nbdev's page name for each notebook that must have a page: index, contributing, API (0*.ipynb) and lessons (tutorials/)."
    def name(p):
        rel = p.relative_to(nbs)
        return str(PurePosixPath(*rel.parts[:-1], re.sub(r'^\d+[a-zA-Z0-9]*_', '', rel.name.lower())).with_suffix('.html'))
    nbs = Path(nbs)
    files = [nbs / 'index.ipynb', nbs / 'contributing.ipynb'] + sorted(nbs.glob('0*.ipynb')) + sorted((nbs / 'tutorials').glob('*.ipynb'))
    return {str(p.relative_to(nbs)): name(p) for p in files if p.exists() and not p.name.startswith(('_', '.'))}


def image_ok(path):
    b = path.read_bytes()[:512]
    return bool(b) and (b.startswith(b'\x89PNG') or b.startswith(b'\xff\xd8') or b.startswith(b'GIF8')
                        or b.startswith(b'RIFF') or b'<svg' in b or b.lstrip().startswith(b'<?xml'))


def search_index(site):
    f = site / 'searchindex.js'
    if not f.exists(): return None
    t = f.read_text(encoding='utf-8')
    return json.loads(t[t.index('(') + 1:t.rindex(')')])


def check_site(site, nbs=ROOT / 'nbs', search_names=SEARCH_NAMES):
    "Every problem found in the built site `site`, as one line each (empty: the site is good)."
    site, bad = Path(site), []
    if not (site / 'index.html').exists(): return [f'{site}/index.html: missing (run `make docs`)']
    for nb, page in expected_pages(nbs).items():
        if not (site / page).exists(): bad.append(f'{page}: missing (the page of nbs/{nb})')
    pages = {p.relative_to(site).as_posix(): p for p in site.rglob('*.html')}
    parsed = {}
    for rel, p in pages.items():
        parsed[rel] = pg = Page(); pg.feed(p.read_text(encoding='utf-8', errors='replace'))
    def ids_of(rel):
        if rel not in parsed:
            pg = Page(); pg.feed((site / rel).read_text(encoding='utf-8', errors='replace')); parsed[rel] = pg
        return parsed[rel].ids
    api_links, anchors = 0, api_anchors(site, nbs)
    for rel, pg in sorted(parsed.items()):
        here = PurePosixPath(rel).parent
        for kind, tag, url in pg.refs:
            if external(url):
                if kind == 'load': bad.append(f'{rel}: <{tag}> loads {url} from another host')
                continue
            s = urlsplit(url)
            if s.scheme in ('data', 'mailto', 'javascript', 'about', 'blob'): continue
            path = unquote(s.path)
            if path.startswith('/'):
                bad.append(f'{rel}: <{tag}> {url} is relative to the host root (breaks under a base URL)'); continue
            target = (here / path) if path else PurePosixPath(rel)
            parts = []
            for x in target.parts:
                if x == '..':
                    if not parts: break
                    parts.pop()
                elif x != '.': parts.append(x)
            else:
                tgt = '/'.join(parts)
                f = site / tgt
                if f.is_dir(): tgt, f = (tgt + '/index.html').lstrip('/'), f / 'index.html'
                if not f.exists(): bad.append(f'{rel}: <{tag}> {url}: {tgt} does not exist'); continue
                if s.fragment and tgt.endswith('.html'):
                    frag = unquote(s.fragment)
                    if frag not in ids_of(tgt): bad.append(f'{rel}: <{tag}> {url}: no id "{frag}" in {tgt}')
                    elif tag == 'a' and f'{tgt}#{frag}' in anchors: api_links += 1
                continue
            bad.append(f'{rel}: <{tag}> {url} points outside the site')
        text = ' '.join(pg.text)
        for w in WIDGET_TEXT:
            if w in text: bad.append(f'{rel}: shows widget text {w!r}: {snippet(text, w)}')
        for w in RAW_SYNTAX:
            if w in text: bad.append(f'{rel}: shows raw syntax {w!r}: {snippet(text, w)}')
        for src in pg.imgs:
            if not src: bad.append(f'{rel}: <img> without src')
            elif not external(src) and not src.startswith('data:'):
                f = site / here / unquote(urlsplit(src).path)
                if f.exists() and not image_ok(f): bad.append(f'{rel}: <img> {src} is not an image')
    for css in site.rglob('*.css'):
        rel = css.relative_to(site).as_posix()
        for u in css_urls(css.read_text(encoding='utf-8', errors='replace')):
            if external(u): bad.append(f'{rel}: url({u}) loads from another host')
            elif not (css.parent / unquote(urlsplit(u).path)).exists(): bad.append(f'{rel}: url({u}) does not exist')
    if not api_links: bad.append('no page links an API name to its entry (is strip_libs set in [tool.nbdev]?)')
    idx = search_index(site)
    if idx is None: bad.append('searchindex.js: missing (no search)')
    else:
        docs = set(idx.get('docnames', []))
        for nb, page in expected_pages(nbs).items():
            if page[:-len('.html')] not in docs: bad.append(f'searchindex.js: {page} is not indexed')
        blob = json.dumps({k: idx.get(k) for k in ('terms', 'titleterms', 'alltitles', 'titles', 'indexentries')})
        for n in search_names:
            if n not in blob and n.rstrip('s') not in blob: bad.append(f'searchindex.js: {n!r} is not searchable')
        if not (site / 'search.html').exists(): bad.append('search.html: missing')
    return bad


def api_anchors(site, nbs):
    """Where nbdev links API names: `page.html#name` for each symbol of the package's _modidx.py (or, without it,
    every identifier-like id on an API page)."""
    try:
        from dwm_tutorial._modidx import d
        return {v[0] for mod in d['syms'].values() for v in mod.values()}
    except Exception:
        pages = [page for nb, page in expected_pages(nbs).items() if not nb.startswith(('tutorials/', 'index'))]
        out = set()
        for page in pages:
            if (Path(site) / page).exists():
                pg = Page(); pg.feed((Path(site) / page).read_text(encoding='utf-8', errors='replace'))
                out |= {f'{page}#{i}' for i in pg.ids if re.fullmatch(r'[a-z_][a-z0-9_.]*', i) and '_' in i}
        return out


def snippet(text, w, n=40):
    i = text.find(w)
    return repr(' '.join(text[max(0, i - n):i + len(w) + n].split()))


def main(argv=sys.argv[1:]):
    site = Path(argv[0]) if argv else ROOT / '_docs'
    bad = check_site(site)
    n = len(list(site.rglob('*.html')))
    if bad:
        print(f'check_site: {len(bad)} problem(s) in {site}:'); print('\n'.join('  ' + b for b in bad[:200]))
        return 1
    print(f'check_site: {n} pages in {site}: every page present, every in-site link, anchor and asset resolves, '
          'nothing loaded from another host, no widget or raw Pandoc text, API names linked, search index complete')
    return 0


if __name__ == '__main__':
    sys.exit(main())
