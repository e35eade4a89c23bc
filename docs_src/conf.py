"""Sphinx config for `make docs`: the pages are nbdev's processed notebooks (`_proc/`), staged by
docs_src/build.py into _docs_build/src/ under the names Quarto would give them (masks.html, tutorials/forgetting.html),
rendered from their committed outputs (nothing is executed) with MyST-NB and the furo theme.
Nothing is loaded from another host: no CDN scripts (widget manager, require.js), no web fonts; tools/check_site.py
fails the build's check if a page ever asks for one (e.g. MathJax, were a notebook to use math)."""
import re, sys, tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

_proj = tomllib.loads((ROOT / 'pyproject.toml').read_text())
_nbdev = _proj['tool']['nbdev']
project = _nbdev.get('title', _proj['project']['name'])
author = _proj['project']['authors'][0]['name']
copyright = author
version = release = re.search(r'__version__\s*=\s*"([^"]+)"', (ROOT / 'dwm_tutorial' / '__init__.py').read_text()).group(1)

extensions = ['myst_nb', 'sphinx.ext.githubpages', 'nbdev_compat']
root_doc = 'index'
exclude_patterns = ['**/.ipynb_checkpoints']
source_suffix = {'.ipynb': 'myst-nb', '.md': 'myst-nb'}

# MyST-NB: show the committed outputs, never run a kernel
nb_execution_mode = 'off'
nb_merge_streams = True
nb_ipywidgets_js = {}                    # no require.js / widget manager from CDNs (widget outputs are made static in build.py)
myst_enable_extensions = ['colon_fence', 'attrs_block']
myst_all_links_external = True           # links are the .html paths Quarto would use; tools/check_site.py checks each one
suppress_warnings = ['myst.header']      # show_doc's ### under a page's # title, as in Quarto

html_theme = 'furo'
html_title = project
html_static_path = ['_static']
html_css_files = ['nbdev.css']
html_copy_source = False
html_show_sourcelink = False
