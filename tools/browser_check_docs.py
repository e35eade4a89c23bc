"""Open every page of the built docs site in headless Chromium: `python tools/browser_check_docs.py [_docs]`.

Runs in its own venv with `playwright` (make docs-browser) and drives Debian's chromium (/usr/bin/chromium, or
$CHROMIUM); it never downloads a browser. The site is served by `python -m http.server` on 127.0.0.1, on a free
port, in a subprocess that is stopped by its PID at the end. For every page it asserts:
- no console error and no uncaught page error;
- every formula typeset by MathJax (served from the site), none shown as an error;
- no failed request and no HTTP error; no request to any host but the local server (those are blocked and reported);
- every <img> has loaded (naturalWidth > 0);
and, on the site's own search (the sidebar's search box, then search.html), that searching an API name
(`learn_masks`) lists the page that documents it. Exit 1 with one line per problem."""
import os, shutil, socket, subprocess, sys, time
from pathlib import Path
from urllib.request import urlopen

ROOT = Path(__file__).resolve().parent.parent
ARGS = ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
        '--no-first-run', '--disable-sync']
SEARCH = [('learn_masks', 'masks.html#learn')]   # the entry's own section, not only its page


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]


def serve(site):
    port = free_port()
    proc = subprocess.Popen([sys.executable, '-m', 'http.server', str(port), '--bind', '127.0.0.1', '--directory', str(site)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f'http://127.0.0.1:{port}/'
    for _ in range(100):
        try: urlopen(base, timeout=1).read(); return proc, base
        except OSError: time.sleep(0.1)
    proc.kill(); raise SystemExit('browser_check_docs: the local server did not start')


def check(site, chromium):
    from playwright.sync_api import sync_playwright
    site = Path(site)
    pages = sorted(p.relative_to(site).as_posix() for p in site.rglob('*.html'))
    bad, n_img, n_formulas = [], 0, 0
    proc, base = serve(site)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, args=ARGS)
            ctx = browser.new_context(viewport={'width': 1280, 'height': 900})
            current = {'page': ''}
            def on_route(route):
                if route.request.url.startswith(base) or route.request.url.startswith(('data:', 'blob:', 'about:')):
                    route.continue_()
                else:
                    bad.append(f"{current['page']}: requested {route.request.url} from another host (blocked)"); route.abort()
            ctx.route('**/*', on_route)
            page = ctx.new_page()
            page.on('console', lambda m: m.type == 'error' and bad.append(f"{current['page']}: console error: {m.text}"))
            page.on('pageerror', lambda e: bad.append(f"{current['page']}: page error: {e}"))
            page.on('requestfailed', lambda r: r.url.startswith(base) and bad.append(
                f"{current['page']}: request failed: {r.url} ({r.failure})"))
            page.on('response', lambda r: r.status >= 400 and bad.append(f"{current['page']}: HTTP {r.status} for {r.url}"))
            for rel in pages:
                current['page'] = rel
                page.goto(base + rel, wait_until='load')
                imgs = page.evaluate("""async () => {
                    const imgs = [...document.images];
                    imgs.forEach(i => { i.loading = 'eager'; });
                    await Promise.all(imgs.map(i => i.complete ? 0 : new Promise(r => { i.onload = i.onerror = r; })));
                    return imgs.map(i => [i.getAttribute('src'), i.naturalWidth]);
                }""")
                n_img += len(imgs)
                bad += [f'{rel}: image not shown: {src}' for src, w in imgs if not w]
                page.wait_for_load_state('networkidle')
                n_math = page.evaluate("() => document.querySelectorAll('.math.notranslate').length")   # Sphinx's
                if n_math:                                 # MathJax (local) typesets every formula, without an error box
                    try: page.wait_for_function("() => window.MathJax && MathJax.Hub && MathJax.Hub.queue.running === 0 && "
                                                "MathJax.Hub.queue.pending === 0 && document.querySelectorAll('.MathJax, .MathJax_Display').length > 0",
                                                timeout=30000)
                    except Exception: bad.append(f'{rel}: {n_math} formula(s), but MathJax did not typeset them')
                    else:
                        shown = page.evaluate("() => document.querySelectorAll('script[type^=\"math/tex\"]').length")
                        errs = page.evaluate("() => document.querySelectorAll('.MathJax_Error, merror, .mjx-merror').length")
                        n_formulas += shown
                        if shown < n_math: bad.append(f'{rel}: {n_math} formula(s), {shown} typeset')
                        if errs: bad.append(f'{rel}: MathJax shows {errs} error(s)')
            for name, want in SEARCH:                      # as a reader searches: the sidebar's box, then Enter
                current['page'] = f'search for {name}'
                page.goto(base + 'index.html', wait_until='load')
                box = page.locator('input[name="q"]').first
                box.fill(name); box.press('Enter')
                page.wait_for_url('**/search.html?*', timeout=15000)
                try:
                    page.wait_for_selector('ul.search li a', timeout=15000)
                    page.wait_for_function("() => !document.querySelector('.search-summary') || "
                                           "/found|match/i.test(document.querySelector('.search-summary').textContent)", timeout=15000)
                except Exception: pass
                hits = page.eval_on_selector_all('ul.search li a', 'as => as.map(a => a.getAttribute("href"))')
                if not any(want in (h or '') for h in hits):
                    bad.append(f'search for {name!r} does not list {want} (results: {hits[:8]})')
                else: print(f'browser_check_docs: search for {name!r} lists {len(hits)} result(s): {hits}')
            browser.close()
    finally:
        proc.kill(); proc.wait()
    print(f'browser_check_docs: {n_formulas} formulas typeset by MathJax from the site itself')
    return bad, len(pages), n_img


def main(argv=sys.argv[1:]):
    site = Path(argv[0]) if argv else ROOT / '_docs'
    if not (site / 'index.html').exists(): sys.exit(f'browser_check_docs: {site}/index.html missing (run `make docs`)')
    chromium = os.environ.get('CHROMIUM') or shutil.which('chromium') or '/usr/bin/chromium'
    t = time.time()
    bad, n, n_img = check(site, chromium)
    if bad:
        print(f'browser_check_docs: {len(bad)} problem(s):'); print('\n'.join('  ' + b for b in bad[:200])); return 1
    print(f'browser_check_docs: {n} pages opened in headless Chromium in {time.time() - t:.0f} s: no console error, '
          f'no failed request, nothing from another host, all {n_img} images shown, search finds the API names')
    return 0


if __name__ == '__main__':
    sys.exit(main())
