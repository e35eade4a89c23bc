"""Write README.md from nbs/index.ipynb (nbdev-readme needs Quarto, which is not installed here).

Markdown cells are copied, code cells become ```python blocks followed by their text output;
cells marked `#| hide` are left out. Run by `make readme` and checked by `make test`."""
import json
from pathlib import Path

root = Path(__file__).resolve().parent.parent
nb = json.loads((root / 'nbs' / 'index.ipynb').read_text())
parts = []
for cell in nb['cells']:
    src = ''.join(cell['source']).strip()
    if cell['cell_type'] == 'markdown':
        parts.append(src.replace('](images/', '](nbs/images/'))   # links relative to nbs/ -> relative to the root
        continue
    if src.startswith('#| hide') or '\n#| hide' in src: continue
    code = '\n'.join(l for l in src.splitlines() if not l.startswith('#|'))
    parts.append(f"```python\n{code}\n```")
    text = ''.join(''.join(o.get('text', '')) if o['output_type'] == 'stream' else ''.join(o.get('data', {}).get('text/plain', ''))
                   for o in cell.get('outputs', []))
    if text.strip(): parts.append(f"```\n{text.rstrip()}\n```")
out = ('<!-- Generated from nbs/index.ipynb by tools/make_readme.py: edit the notebook, not this file. -->\n\n'
       + '\n\n'.join(parts) + '\n')
dest = root / 'README.md'
if not dest.exists() or dest.read_text() != out:
    tmp = dest.with_suffix('.md.tmp'); tmp.write_text(out); tmp.replace(dest)
