"""Sphinx extension for nbdev's pages: every section also answers to the id Quarto (Pandoc) gives it.

nbdev links an API name to `page.html#name.lower()` (`masks.html#learn_masks`, `data.html#imagedataset.__getitem__`),
which is Pandoc's identifier for show_doc's heading; docutils would make `learn-masks`. Each section keeps
docutils' id and gains Pandoc's, so links written for the Quarto site work here unchanged."""
import re
from docutils import nodes


def pandoc_id(text):
    "Pandoc's auto_identifiers: keep letters, digits, _ - . ; spaces -> -; lower case; start at the first letter."
    t = ''.join(c for c in text.strip().lower() if c.isalnum() or c in '_-. \n\t')
    t = re.sub(r'\s+', '-', t)
    t = re.sub(r'^[^a-z]+', '', t)
    return t or 'section'


def add_pandoc_ids(app, doctree):
    used = set(doctree.ids)
    for sec in doctree.findall(nodes.section):
        if not sec.children or not isinstance(sec[0], nodes.title): continue
        base = pandoc_id(sec[0].astext())
        pid, n = base, 0
        while pid in used and pid not in sec['ids']:
            n += 1; pid = f'{base}-{n}'
        if pid not in sec['ids']:
            sec['ids'].append(pid); used.add(pid); doctree.ids[pid] = sec


def setup(app):
    app.connect('doctree-read', add_pandoc_ids)
    return dict(parallel_read_safe=True, parallel_write_safe=True)
