"""Build the documentation site offline into _docs/ (`make docs`), from the committed notebook outputs.

1. nbdev's own processing, exactly what `nbdev-docs` runs before it calls Quarto (`nbdev-proc-nbs` with
   nbdev-docs' arguments): nbs/ -> _proc/ (frontmatter from `# Title` / `> summary`, hidden cells dropped,
   show_doc rendered, backticked names linked). Two side effects of that step are skipped: installing Quarto
   (it downloads a binary) and rewriting dwm_tutorial/_modidx.py (nbdev-export's job).
2. Staging, _proc/ -> _docs_build/src/: what Quarto would do with the Pandoc/Quarto syntax, done for MyST-NB.
   Pages get Quarto's names (02_masks.ipynb -> masks.html), so every link nbdev writes works in both sites;
   `#| echo: false` hides a cell's code, `#| output: asis` turns its output into page text (show_doc);
   callouts become admonitions; widget outputs become static text (see `static_widget`); links to the
   published site (doc_host) become relative links, so the site works from any folder or host.
3. Sphinx + MyST-NB (docs_src/conf.py) renders the staged notebooks, never executing them.

Usage: python docs_src/build.py [--out _docs] [--workers 0]"""
import argparse, html, json, os, re, shutil, sys, time, tomllib
from pathlib import Path, PurePosixPath

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BUILD = ROOT / '_docs_build'
SRC = BUILD / 'src'
WIDGET_VIEW = 'application/vnd.jupyter.widget-view+json'
WIDGET_STATE = 'application/vnd.jupyter.widget-state+json'
NOT_PAGES = {'_quarto.yml', 'nbdev.yml', 'sidebar.yml', '_brand.yml'}


# ---------------------------------------------------------------- 1. nbdev's processing
def nbdev_process(n_workers=0):
    "Run nbdev-docs' processing step (nbdev_docs -> _pre_docs -> proc_nbs) with its CLI defaults; return the cache."
    import nbdev.quarto as q, nbdev.doclinks as dl
    q._ensure_quarto = lambda: None                  # Quarto is not used (and cannot be downloaded offline)
    dl._build_modidx = lambda *a, **k: None          # leave dwm_tutorial/_modidx.py to nbdev-export
    kw = dict(file_glob=None, file_re=q._def_file_re, symlinks=False, path_glob=None, path_re=None, folder_re=None,
              skip_file_glob=None, skip_file_re='^[_.]', skip_folder_re='^[_.]')   # nbdev-docs' CLI defaults
    cwd = os.getcwd()
    try: cache, cfg, _ = q._pre_docs(None, n_workers=n_workers, **kw)
    finally: os.chdir(cwd)
    return Path(cache)


# ---------------------------------------------------------------- 2. staging helpers
def config():
    proj = tomllib.loads((ROOT / 'pyproject.toml').read_text())
    nb, urls = proj['tool']['nbdev'], proj['project'].get('urls', {})
    return dict(git_url=(urls.get('Repository') or urls.get('Source') or '').rstrip('/'),
                doc_url=(urls.get('Documentation') or '').rstrip('/'), branch=nb.get('branch', 'main'))


def doc_bases(cfg):
    "Every prefix nbdev may have put before a page name in a link (config now, and the settings in _modidx.py)."
    from urllib.parse import urljoin
    bases = {cfg['doc_url']} if cfg['doc_url'] else set()
    try:
        from dwm_tutorial._modidx import d
        s = d['settings']
        bases.add(urljoin(urljoin(s['doc_host'] + '/', s['doc_baseurl']) + '/', '.').rstrip('/'))
    except Exception: pass
    return sorted((b for b in bases if b.startswith('http')), key=len, reverse=True)


def html_name(rel):
    "nbdev's page name for a notebook (nbdev.config.nbpath2html): 02_masks.ipynb -> masks.html"
    p = PurePosixPath(rel)
    return str(p.with_name(re.sub(r'^\d+[a-zA-Z0-9]*_', '', p.name.lower())).with_suffix('.html'))


def frontmatter(nb):
    "Pop the YAML frontmatter nbdev puts in a first raw cell."
    import yaml
    c = nb['cells'][0] if nb['cells'] else None
    if c and c['cell_type'] == 'raw':
        src = ''.join(c['source']).strip()
        if src.startswith('---') and src.endswith('---'):
            nb['cells'].pop(0)
            return yaml.safe_load(src.strip('-')) or {}
    return {}


def relurl(target, page):
    "`target` (a path from the site root, maybe with #fragment) as a link from page `page`."
    path, _, frag = target.partition('#')
    rel = os.path.relpath(path or page, os.path.dirname(page) or '.').replace(os.sep, '/') if path else ''
    return rel + ('#' + frag if frag else '')


_re_link = re.compile(r'(!?\[(?:[^\[\]]|\[[^\]]*\])*\])\(([^()\s]+)\)(\{[^{}]*\})?')


def fix_links(md, page, src_rel, pages, bases, cfg):
    "Links as Quarto would leave them, made relative: doc_host links, notebook links, [source] links."
    def sub(m):
        text, url, attrs = m.group(1), m.group(2), m.group(3)
        if text.startswith('!'): return text + f'({url})'            # images: paths stay as written
        if text == '[source]':                                         # show_doc's link to the code
            gh = re.match(r'^/?blob/[^/]+/(.+)$', url)                 # an empty git_url gives /blob/main/...
            if gh: url = f"{cfg['git_url']}/blob/{cfg['branch']}/{gh.group(1)}" if cfg['git_url'] else ''
            return f'<a class="nbdev-source" href="{html.escape(url)}" target="_blank" rel="noopener">source</a>' if url else ''
        for b in bases:
            if url.startswith(b + '/'): url = relurl(api_target(url[len(b) + 1:], page), page); break
        else:
            if url.startswith('/') and not url.startswith('//'):       # empty doc_host: links from the site root
                path = url[1:].partition('#')[0]
                if path in pages.values() or path == '': url = relurl(api_target(url[1:], page), page)
            elif not re.match(r'^[a-z][a-z0-9+.-]*:', url) and not url.startswith('#'):
                path, _, frag = url.partition('#')                     # a relative link to a notebook
                if path.endswith('.ipynb'):
                    tgt = os.path.normpath(os.path.join(os.path.dirname(src_rel), path)).replace(os.sep, '/')
                    if tgt in pages: url = relurl(pages[tgt] + ('#' + frag if frag else ''), page)
        return f'{text}({url})'
    return _re_link.sub(sub, md)


ANCHORS = {}      # page -> the ids its headings will have (Pandoc's, as docs_src/nbdev_compat.py adds them)
MISSING = set()   # API links whose entry does not exist


def api_target(target, page):
    """nbdev links every name in _modidx.py, also one without a show_doc entry (`Klass.method`): such a link
    goes to the nearest entry that exists (`Klass`, else the page) and is reported; a private helper (`_name`),
    which never has an entry of its own, goes to its page unreported."""
    path, _, frag = target.partition('#')
    if not frag or path not in ANCHORS or frag in ANCHORS[path]: return target
    if frag.startswith('_'): return path
    MISSING.add(f'{page}: {target}')
    while '.' in frag:
        frag = frag.rsplit('.', 1)[0]
        if frag in ANCHORS[path]: return f'{path}#{frag}'
    return path


def heading_ids(md):
    "Pandoc ids of the markdown headings in `md` (fenced code skipped)."
    from nbdev_compat import pandoc_id
    ids, fence = set(), False
    for l in md.split('\n'):
        if l.lstrip().startswith(('```', '~~~')): fence = not fence
        m = None if fence else re.match(r'^#{1,6}\s+(.*?)\s*#*\s*$', l)
        if m:
            text = re.sub(r'!?\[([^\]]*)\]\([^)]*\)', r'\1', m.group(1))
            ids.add(pandoc_id(text.replace('`', '').replace('*', '')))
    return ids


_re_div = re.compile(r'^(:{3,})\s*(\{[^}]*\}|[\w-]+)?\s*$')
_CALLOUTS = dict(note='note', tip='tip', warning='warning', important='important', caution='caution')


def fix_divs(md):
    "Pandoc fenced divs (`::: {.callout-note}` ... `:::`) -> MyST admonitions; other divs keep only their content."
    out, stack = [], []
    for line in md.split('\n'):
        m = _re_div.match(line)
        if m and (m.group(2) or stack):
            if m.group(2):                                          # an opening fence
                cls = re.search(r'\.callout-(\w+)', m.group(2))
                kind = _CALLOUTS.get(cls.group(1)) if cls else None
                stack.append(kind)
                if kind: out.append(f':::::{{{kind}}}')
            else:                                                   # a closing fence
                if stack.pop(): out.append(':::::')
            continue
        out.append(line)
    return '\n'.join(out)


def fix_table_pipes(md):
    "A `|` inside code in a table row splits the cell in CommonMark tables (not in Pandoc's): escape it."
    return '\n'.join(re.sub(r'(?<!`)`[^`\n]+`(?!`)', lambda m: re.sub(r'(?<!\\)\|', r'\\|', m.group(0)), l)
                     if l.lstrip().startswith('|') else l for l in md.split('\n'))


def fix_md(md, page, src_rel, pages, bases, cfg):
    return fix_links(fix_divs(fix_table_pipes(md)), page, src_rel, pages, bases, cfg)


def cell_options(src):
    "Quarto's `#| key: value` cell options, and the source without them."
    opts, keep = {}, []
    for line in src.split('\n'):
        m = re.match(r'^#\|\s*([\w-]+)\s*:\s*(.*?)\s*$', line)
        if m: opts[m.group(1)] = m.group(2)
        elif not line.startswith('#|'): keep.append(line)
    return opts, '\n'.join(keep).strip('\n')


def _txt(v): return ''.join(v) if isinstance(v, list) else (v or '')


def static_widget(data, state):
    """A widget output as static text (there is no kernel on a web page).
    A tqdm progress bar shows its saved final state as tqdm's text bar; a bar whose state was not saved is
    dropped (its text fallback is the bar frozen at 0%); any other widget becomes a note to open the notebook."""
    mid = json.loads(_txt(data[WIDGET_VIEW])) if isinstance(data[WIDGET_VIEW], (str, list)) else data[WIDGET_VIEW]
    model = state.get(mid.get('model_id', ''), {})
    kids = [state.get(k.replace('IPY_MODEL_', ''), {}) for k in model.get('state', {}).get('children', [])]
    bars = [k for k in kids if k.get('model_name', '').endswith('ProgressModel')]
    plain = _txt(data.get('text/plain', ''))
    if bars:
        parts = []
        for k in kids:
            s = k.get('state', {})
            if k in bars:
                n = 10 * max(0.0, min(1.0, (s.get('value') or 0) / (s.get('max') or 1)))   # tqdm's 10-cell bar
                bar = '█' * int(n) + (' ▏▎▍▌▋▊▉'[int((n - int(n)) * 8)] if n < 10 else '')
                parts.append('|' + bar.ljust(10) + '|')
            else: parts.append(html.unescape(re.sub(r'<[^>]+>', '', str(s.get('value', '')))))
        return {'text/plain': ''.join(parts).replace('\u2007', ' ').replace('\xa0', ' ')}
    if '%|' in plain: return None                                  # a progress bar whose state was not saved
    return {'text/markdown': '*An interactive widget is shown here in Jupyter; it needs a running Python kernel. '
                             'Open this notebook in JupyterLab to use it.*'}


def fix_stream(text):
    "Carriage returns as a terminal shows them: only the last frame of each line."
    return '\n'.join(l.rsplit('\r', 1)[-1] for l in text.split('\n'))


def stage_notebook(nb, src_rel, page, pages, bases, cfg):
    fm = frontmatter(nb)
    state = nb.get('metadata', {}).pop('widgets', {}).get(WIDGET_STATE, {}).get('state', {})
    cells = []
    title = fm.get('title') or PurePosixPath(page).stem.replace('_', ' ')
    head = f'# {title}'
    if fm.get('description'): head += '\n\n{.nbdev-description}\n' + str(fm['description']).strip()
    cells.append(dict(cell_type='markdown', metadata={}, source=fix_md(head, page, src_rel, pages, bases, cfg)))
    for c in nb['cells']:
        src = _txt(c.get('source', ''))
        if c['cell_type'] == 'markdown':
            if re.fullmatch(r'\s*<!--\s*WARNING: THIS FILE WAS AUTOGENERATED!.*?-->\s*', src, re.S): continue
            cells.append(dict(cell_type='markdown', metadata={}, source=fix_md(src, page, src_rel, pages, bases, cfg)))
            continue
        if c['cell_type'] != 'code':
            continue                                               # raw cells: Quarto shows nothing for untyped ones
        opts, code = cell_options(src)
        if opts.get('include') == 'false': continue
        if opts.get('output') == 'asis':                           # show_doc: its markdown becomes page text
            for o in c.get('outputs', []):
                d = o.get('data', {})
                md = _txt(d.get('text/markdown')) or (f"```\n{_txt(d.get('text/plain'))}\n```" if 'text/plain' in d else '')
                md = re.sub(r'^\s*---\s*\n', '', md)               # show_doc's leading rule: a section already has one
                if md.strip(): cells.append(dict(cell_type='markdown', metadata={}, source=fix_md(md, page, src_rel, pages, bases, cfg)))
            continue
        outs = []
        if opts.get('output') != 'false':
            for o in c.get('outputs', []):
                o = dict(o)
                if o['output_type'] == 'stream': o['text'] = fix_stream(_txt(o['text']))
                elif 'data' in o:
                    d = dict(o['data'])
                    if WIDGET_VIEW in d:
                        rest = {k: v for k, v in d.items() if k not in (WIDGET_VIEW, 'text/plain')}
                        d = rest or static_widget(d, state)
                        if not d: continue
                    if 'text/markdown' in d: d['text/markdown'] = fix_md(_txt(d['text/markdown']), page, src_rel, pages, bases, cfg)
                    o['data'] = d
                    o.setdefault('metadata', {})
                    if o['output_type'] == 'execute_result': o.setdefault('execution_count', None)
                outs.append(o)
        tags = ['remove-input'] if opts.get('echo') == 'false' else []
        if not code.strip() and not outs: continue
        cells.append(dict(cell_type='code', metadata={'tags': tags} if tags else {}, source=code,
                          outputs=outs, execution_count=None))
    for i, c in enumerate(cells):
        c['id'] = f'c{i}'
    return dict(cells=cells, metadata=nb.get('metadata', {}), nbformat=4, nbformat_minor=5)


def toctree(sidebar, pages):
    "The sidebar nbdev generates (sidebar.yml), as Sphinx toctrees: one per folder (the lessons), then the top-level pages (the API reference)."
    import yaml
    contents = yaml.safe_load(sidebar.read_text())['website']['sidebar']['contents']
    def doc(f): return pages[f][:-len('.html')] if f in pages else None
    groups, top = [], []
    for e in contents:
        if isinstance(e, str):
            if doc(e) and doc(e) != 'index': top.append(doc(e))
        elif isinstance(e, dict) and 'section' in e:
            items = [doc(f) for f in e.get('contents', []) if isinstance(f, str) and doc(f)]
            name = str(e['section'])
            groups.append(('Lessons' if name == 'tutorials' else name.replace('_', ' ').capitalize(), items))
    groups.append(('API reference', top))          # the course first: a reader starts with lesson 1
    return '\n\n'.join('```{toctree}\n:hidden:\n:caption: ' + cap + '\n\n' + '\n'.join(items) + '\n```'
                       for cap, items in groups if items)


def write_if_changed(path, data: bytes):
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_bytes() != data: path.write_bytes(data)


def stage(cache):
    "_proc/ -> _docs_build/src/, under Quarto's page names; returns {notebook path: page path}."
    cfg, keep = config(), set()
    bases = doc_bases(cfg)
    nbs = sorted(p.relative_to(cache).as_posix() for p in cache.rglob('*.ipynb') if not any(s.startswith(('.', '_')) for s in p.relative_to(cache).parts))
    pages = {}
    for rel in nbs:
        fm = frontmatter(json.loads((cache / rel).read_text()))
        pages[rel] = str(PurePosixPath(rel).parent / fm['output-file']) if fm.get('output-file') else html_name(rel)
        pages[rel] = pages[rel].removeprefix('./')
    sys.path.insert(0, str(HERE))
    for rel, page in pages.items():                                 # the ids each page's headings will have
        nb = json.loads((cache / rel).read_text())
        fm = frontmatter(nb)
        md = [f"# {fm.get('title', '')}"] + [_txt(c['source']) for c in nb['cells'] if c['cell_type'] == 'markdown']
        md += [_txt(o.get('data', {}).get('text/markdown', '')) for c in nb['cells'] if c['cell_type'] == 'code'
               for o in c.get('outputs', [])]
        ANCHORS[page] = heading_ids('\n'.join(md))
    MISSING.clear()
    for rel, page in pages.items():
        nb = stage_notebook(json.loads((cache / rel).read_text()), rel, page, pages, bases, cfg)
        if page == 'index.html':
            nb['cells'].append(dict(cell_type='markdown', metadata={}, id='toc', source=toctree(cache / 'sidebar.yml', pages)))
        dest = SRC / (page[:-len('.html')] + '.ipynb')
        write_if_changed(dest, (json.dumps(nb, indent=1, ensure_ascii=False) + '\n').encode()); keep.add(dest)
    for f in cache.rglob('*'):                                      # images and other files the pages use
        rel = f.relative_to(cache)
        if f.is_file() and f.suffix != '.ipynb' and f.name not in NOT_PAGES and not any(s.startswith('.') for s in rel.parts):
            write_if_changed(SRC / rel, f.read_bytes()); keep.add(SRC / rel)
    for f in list(SRC.rglob('*')):                                  # nothing stale
        if f.is_file() and f not in keep: f.unlink()
    for m in sorted(MISSING): print(f'docs: no API entry for the link {m}; linked to the nearest entry instead')
    return pages


# ---------------------------------------------------------------- 3. Sphinx
def mathjax(dest=BUILD / 'mathjax_static' / 'mathjax'):
    "MathJax 2 from the jupyter-server-mathjax package into `dest` (conf.py serves it as _static/mathjax/): English only, HTML-CSS output."
    import jupyter_server_mathjax
    src = Path(jupyter_server_mathjax.__file__).parent / 'static'
    skip = lambda d, names: [n for n in names if (Path(d).name == 'localization' and n != 'en') or
                             (Path(d).name == 'output' and n == 'SVG') or n == 'unpacked']
    mark = BUILD / 'mathjax-copied-from'
    if not dest.exists() or not mark.exists() or mark.read_text() != str(src):
        shutil.rmtree(dest, ignore_errors=True); shutil.copytree(src, dest, ignore=skip); mark.write_text(str(src))
    return dest


def sphinx(out):
    from sphinx.cmd.build import build_main
    return build_main(['-b', 'html', '-q', '-W', '--keep-going', '-c', str(HERE), '-d', str(BUILD / 'doctrees'), str(SRC), str(out)])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--out', default=str(ROOT / '_docs'))
    ap.add_argument('--workers', type=int, default=0, help="nbdev's processing workers (0: in this process)")
    a = ap.parse_args()
    t0 = time.time()
    cache = nbdev_process(a.workers)
    t1 = time.time()
    pages = stage(cache)
    mathjax()
    html_dir = BUILD / 'html'                                       # MyST-NB writes images beside it, in jupyter_execute/
    rc = sphinx(html_dir)
    if rc: sys.exit(f'docs: sphinx-build failed (exit {rc})')
    shutil.rmtree(a.out, ignore_errors=True)
    shutil.copytree(html_dir, a.out, ignore=shutil.ignore_patterns('.buildinfo*', '_sources'))
    t2 = time.time()
    size = sum(f.stat().st_size for f in Path(a.out).rglob('*') if f.is_file())
    print(f'docs: {len(pages)} pages in {os.path.relpath(a.out, ROOT)}/ ({size / 1e6:.1f} MB): '
          f'nbdev processing {t1 - t0:.1f} s, Sphinx {t2 - t1:.1f} s')


if __name__ == '__main__':
    main()
