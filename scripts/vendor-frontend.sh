#!/usr/bin/env bash
# Re-creates the vendored front-end files from the npm registry at the pinned versions.
# GOV.UK Frontend's "GDS Transport" font may only be used on GOV.UK services, so its font
# files are not shipped and the @font-face rules are removed: text falls back to Arial.
set -euo pipefail
GOVUK=6.6.0
HTMX=2.0.11
MOJ=11.1.0
here="$(cd "$(dirname "$0")/../static/vendor" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent "govuk-frontend@$GOVUK" "htmx.org@$HTMX" "@ministryofjustice/frontend@$MOJ" >/dev/null
mkdir govuk htmx moj
tar xzf "govuk-frontend-$GOVUK.tgz" -C govuk
tar xzf "htmx.org-$HTMX.tgz" -C htmx
tar xzf "ministryofjustice-frontend-$MOJ.tgz" -C moj
out="$here/govuk-frontend-$GOVUK"
rm -rf "$out" && mkdir -p "$out"
python3 - "govuk/package/dist/govuk/govuk-frontend.min.css" "$out/govuk-frontend.min.css" <<'PY'
import re, sys
css = open(sys.argv[1], encoding="utf-8").read()
css = re.sub(r"@font-face\{[^}]*\}", "", css)
css = re.sub(r"/\*# sourceMappingURL=.*?\*/", "", css)
open(sys.argv[2], "w", encoding="utf-8").write(css)
PY
sed 's|//# sourceMappingURL=.*||' govuk/package/dist/govuk/govuk-frontend.min.js > "$out/govuk-frontend.min.js"
node -e 'const p=require("./govuk/package/package.json"); console.log(`${p.name} ${p.version}\nLicence: ${p.license} (from the package manifest)\nFont files and @font-face rules removed: GDS Transport is for GOV.UK services only.`)' > "$out/NOTICE.txt"
out="$here/htmx-$HTMX"
rm -rf "$out" && mkdir -p "$out"
cp htmx/package/dist/htmx.min.js "$out/htmx.min.js"
cp htmx/package/LICENSE "$out/LICENSE"
# The Ministry of Justice Frontend: only its stylesheet (components used without their
# scripts, since sorting and filtering happen on the server) and the images it names,
# which it addresses from the site root: made relative so they load from the embed.
out="$here/moj-frontend-$MOJ"
rm -rf "$out" && mkdir -p "$out/assets"
sed -e 's|/\*# sourceMappingURL=.*\*/||' -e 's|url(/assets/|url(assets/|g' \
  moj/package/moj/moj-frontend.min.css > "$out/moj-frontend.min.css"
# Its icons only: the crest and logotypes belong to the Ministry, not to this service.
mkdir "$out/assets/images" && cp moj/package/moj/assets/images/icon-* "$out/assets/images/"
node -e 'const p=require("./moj/package/package.json"); console.log(`${p.name} ${p.version}\nLicence: ${p.license} (from the package manifest)\nStylesheet and images only; image addresses made relative.`)' > "$out/NOTICE.txt"
echo "vendored govuk-frontend $GOVUK, htmx $HTMX and moj-frontend $MOJ into $here"
