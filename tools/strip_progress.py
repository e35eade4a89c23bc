"""Remove outputs that only live in a running kernel from notebooks, in place: every widget view (a tqdm bar,
whose saved text is its first frame, e.g. "fit:   0%|          | 0/158", or a control panel, saved as
"VBox(children=(...") and tqdm's stderr lines, then the widget state left in the notebook's metadata. A reader
of a committed notebook needs the results, not a bar frozen mid-way or a widget's repr; a student who runs the
notebook still sees them live.

Usage: python tools/strip_progress.py NOTEBOOK [NOTEBOOK ...]   (run after executing a notebook)"""
import json, re, sys
from pathlib import Path

BAR = re.compile(r'\d+%\|.*\|')


def is_bar(o) -> bool:
    d = o.get('data') or {}
    if 'application/vnd.jupyter.widget-view+json' in d: return True
    return o.get('output_type') == 'stream' and o.get('name') == 'stderr' and \
        all(BAR.search(l) or not l.strip() for l in re.split(r'[\r\n]', ''.join(o.get('text', ''))))


def strip(path) -> int:
    nb = json.loads(Path(path).read_text()); n = 0
    for c in nb['cells']:
        outs = c.get('outputs', [])
        keep = [o for o in outs if not is_bar(o)]
        n += len(outs) - len(keep)
        if len(keep) != len(outs): c['outputs'] = keep
    # the widget state an executed notebook keeps in its metadata: with no view left to show it, it is dead weight,
    # and JupyterLab rewrites its numbers on save (158.0 -> 158), so a notebook merely opened and saved would differ
    if 'widgets' in nb.get('metadata', {}) and not any('application/vnd.jupyter.widget-view+json' in (o.get('data') or {})
                                                       for c in nb['cells'] for o in c.get('outputs', [])):
        del nb['metadata']['widgets']; n += 1
    if n:
        tmp = Path(path).with_suffix('.ipynb.tmp')
        tmp.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + '\n'); tmp.replace(path)
    return n


if __name__ == '__main__':
    for p in sys.argv[1:]: print(f'{p}: {strip(p)} live-only output(s) removed')
