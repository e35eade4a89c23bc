"""Sphinx config for `make docs`: the pages are nbdev's processed notebooks (`_proc/`), staged by
docs_src/build.py into _docs_build/src/ under the names Quarto would give them (masks.html, tutorials/forgetting.html),
rendered from their committed outputs (nothing is executed) with MyST-NB and the furo theme.
Nothing is loaded from another host: no CDN scripts (widget manager, require.js), no web fonts; tools/check_site.py
fails the build's check if a page ever asks for one. Math is typeset by MathJax 2 from the site's own _static/mathjax/
(copied there by build.py from the jupyter-server-mathjax package, the copy classic Jupyter serves), with its STIX web fonts."""
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
myst_enable_extensions = ['colon_fence', 'attrs_block', 'dollarmath', 'amsmath']   # $...$ and $$...$$ as in Jupyter and Quarto
myst_all_links_external = True           # links are the .html paths Quarto would use; tools/check_site.py checks each one
suppress_warnings = ['myst.header']      # show_doc's ### under a page's # title, as in Quarto

html_theme = 'furo'
html_title = project
html_static_path = ['_static', str(ROOT / '_docs_build' / 'mathjax_static')]   # the second: build.py's copy of MathJax

# MathJax 2, local: TeX in, HTML-CSS out, with the one web font the package ships (STIX-Web, as classic Jupyter
# configures it). _static/nbdev.css keeps the hidden assistive MathML from asking for TeX .otf fonts the package lacks.
mathjax_path = 'mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full'
mathjax2_config = {'HTML-CSS': {'availableFonts': [], 'imageFont': None, 'preferredFont': None, 'webFont': 'STIX-Web',
                                # its font-loading probe: src url('about:blank'), which Chromium reports as two console errors
                                'styles': {'@font-face': {'font-family': 'MathJax_Blank', 'src': "local('MathJax_Blank')"}}},
                   'messageStyle': 'none',
                   # MyST marks each page `tex2jax_ignore` and its formulas `math` (what myst_update_mathjax does for MathJax 3)
                   'tex2jax': {'processClass': 'tex2jax_process|mathjax_process|math|output_area'}}
html_css_files = ['nbdev.css']
html_copy_source = False
html_show_sourcelink = False
