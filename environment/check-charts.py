#!/usr/bin/python3
"""Checks that charts draw, in headless Chromium, without a script error.

  check-charts.py FILE... [--screenshot-dir DIR]

FILE.html: a runner report, loaded as it is.
FILE.ipynb: an executed notebook; every chart output is drawn twice, the way Jupyter front ends do: from its
application/vnd.plotly.v1+json data with plotly.js (VS Code's and JupyterLab's plotly renderers), and from its
text/html on a page that has plotly.js (a trusted notebook's HTML output).
Each page gets a window.onerror hook first, so a script error shows in the DOM. A chart counts as drawn when plotly
made its SVG (class "main-svg"). Exits 1 when any page has fewer drawn charts than charts, or a script error.
Needs chromium and environment/node_modules/plotly.js-dist-min (environment/setup.sh installs both).
"""
import html
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
PLOTLY = os.path.join(HERE, "node_modules", "plotly.js-dist-min", "plotly.min.js")
HOOK = ("<script>window.__errors=[];window.onerror=function(m,s,l){window.__errors.push(m+' @'+l);"
        "var d=document.createElement('div');d.className='script-error';d.textContent=m;"
        "(document.body||document.documentElement).appendChild(d);};</script>")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--hide-scrollbars", "--virtual-time-budget=20000"]


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        for d in os.environ.get("PATH", "").split(":"):
            if os.path.exists(os.path.join(d, name)):
                return os.path.join(d, name)
    sys.exit("check-charts: chromium not found (apt-get install chromium)")


def run(browser, page, screenshot=None):
    with tempfile.TemporaryDirectory() as profile:
        args = [browser, *FLAGS, f"--user-data-dir={profile}"]
        if screenshot:
            subprocess.run(args + ["--window-size=1100,3000", f"--screenshot={screenshot}", "file://" + page],
                           capture_output=True, timeout=300)
        out = subprocess.run(args + ["--dump-dom", "file://" + page], capture_output=True, text=True, timeout=300)
    dom = out.stdout
    drawn = len(re.findall(r"class=\"plot-container plotly\"", dom))   # one per chart plotly drew
    errors = [html.unescape(e) for e in re.findall(r'<div class="script-error">(.*?)</div>', dom)]
    return drawn, errors


def notebook_pages(path, workdir):
    nb = json.load(open(path, encoding="utf-8"))
    plotly = open(PLOTLY, encoding="utf-8").read().replace("</script", "<\\/script")
    figures, htmls = [], []
    for cell in nb["cells"]:
        for o in cell.get("outputs", []):
            data = o.get("data", {})
            if "application/vnd.plotly.v1+json" in data:
                figures.append(data["application/vnd.plotly.v1+json"])
                h = data.get("text/html", "")
                htmls.append(h if isinstance(h, str) else "".join(h))
    head = f"<!DOCTYPE html><html><head><meta charset='utf-8'>{HOOK}<script>{plotly}</script></head><body>"
    def draw(i, fig):
        safe = json.dumps(fig).replace("<", "\\u003c")
        return (f"<div id='c{i}'></div><script>(function(){{var f={safe};"
                f"Plotly.newPlot('c{i}', f.data, f.layout, f.config||{{}});}})();</script>")
    renderer = head + "".join(draw(i, fig) for i, fig in enumerate(figures)) + "</body></html>"
    trusted = head + "".join(f"<div class='output'>{h}</div>" for h in htmls) + "</body></html>"
    pages = []
    for name, content in (("plotly-mime", renderer), ("text-html", trusted)):
        p = os.path.join(workdir, f"{os.path.basename(path)}.{name}.html")
        open(p, "w", encoding="utf-8").write(content)
        pages.append((f"{path} [{name}]", p, len(figures)))
    return pages


def report_page(path, workdir):
    content = open(path, encoding="utf-8").read()
    expected = content.count("Plotly.newPlot(id,")
    p = os.path.join(workdir, os.path.basename(path))
    open(p, "w", encoding="utf-8").write(content.replace("<head>", "<head>" + HOOK, 1))
    return [(path, p, expected)]


def main(argv):
    shots = None
    if "--screenshot-dir" in argv:
        i = argv.index("--screenshot-dir")
        shots = argv[i + 1]
        argv = argv[:i] + argv[i + 2:]
        os.makedirs(shots, exist_ok=True)
    if not argv:
        sys.exit(__doc__)
    if not os.path.exists(PLOTLY):
        sys.exit(f"check-charts: {PLOTLY} missing (run environment/setup.sh)")
    browser = chromium()
    failed = False
    with tempfile.TemporaryDirectory() as work:
        for f in argv:
            pages = notebook_pages(f, work) if f.endswith(".ipynb") else report_page(f, work)
            for label, page, expected in pages:
                shot = os.path.join(shots, os.path.basename(page) + ".png") if shots else None
                drawn, errors = run(browser, page, shot)
                ok = drawn >= expected and not errors
                failed |= not ok
                print(f"{'ok  ' if ok else 'FAIL'} {label}: {drawn} of {expected} charts drawn as SVG"
                      + (f", script errors: {errors}" if errors else "") + (f", screenshot {shot}" if shot else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
