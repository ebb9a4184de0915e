#!/usr/bin/env bash
# Refresh the dashboard's vendored scripts from the npm registry (run by hand, never at run time:
# the dashboard works on a ministry LAN with no internet, so every script ships in the package).
# Versions match what vl-convert-python renders with (its vega and vega-embed), so a chart looks
# the same in the browser and in a downloaded SVG or the diagnosis PDF.
set -euo pipefail
out="$(cd "$(dirname "$0")/.." && pwd)/app/web/static/vendor"
axe="$(cd "$(dirname "$0")/.." && pwd)/tests/web/vendor"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
for p in vega@6.2.0 vega-lite@6.4.3 vega-embed@7.0.2 vega-interpreter@2.3.2 htmx.org@2.0.11 axe-core@4.14.1; do
  npm pack -q "$p" >/dev/null
done
for f in *.tgz; do d=${f%.tgz}; mkdir "$d"; tar xzf "$f" -C "$d"; done
cp vega-6.2.0/package/build/vega.min.js vega-lite-6.4.3/package/build/vega-lite.min.js \
   vega-embed-7.0.2/package/build/vega-embed.min.js htmx.org-2.0.11/package/dist/htmx.min.js "$out/"
for p in vega-6.2.0 vega-lite-6.4.3 vega-embed-7.0.2 vega-interpreter-2.3.2 htmx.org-2.0.11; do
  cp "$p/package/LICENSE" "$out/$p.LICENSE"
done
# vega-interpreter ships only as an ES module importing vega-util; the page loads classic
# scripts under a CSP without 'unsafe-eval', so wrap it: vega-util's functions come from vega.
python3 - "$out" <<'PY'
import sys
out = sys.argv[1]
src = open("vega-interpreter-2.3.2/package/build/vega-interpreter.js").read()
src = src.replace(
    "import { ascending, isString, DisallowedObjectProperties } from 'vega-util';",
    "var ascending = vega.ascending, isString = vega.isString, "
    "DisallowedObjectProperties = vega.DisallowedObjectProperties;",
)
src = src.replace("export { expression as expressionInterpreter };",
                  "window.vegaInterpreter = { expressionInterpreter: expression };")
src = src.replace("//# sourceMappingURL=vega-interpreter.js.map", "")
open(f"{out}/vega-interpreter.js", "w").write(
    "/* vega-interpreter 2.3.2 (BSD-3-Clause), its ES module wrapped for a classic <script>: "
    "see scripts/vendor-web.sh */\n(function () {\n" + src + "\n})();\n"
)
PY
cp axe-core-4.14.1/package/axe.min.js "$axe/axe.min.js"
cp axe-core-4.14.1/package/LICENSE "$axe/axe-core.LICENSE"
echo "vendored into $out and $axe"
