#!/usr/bin/env bash
# The operator's monitoring files, checked (ctest `monitoring_rules`): deploy/prometheus/alerts.yml
# is valid (promtool check rules) and its alerts fire and stay quiet as alerts_test.yml expects
# (promtool test rules); deploy/grafana/*.json are JSON dashboards; and every emporium_* metric
# they name is one the code records (a renamed metric would otherwise leave a silent alert).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
promtool=${PROMTOOL:-$root/.local/tools/prometheus/usr/bin/promtool}
if [ ! -x "$promtool" ]; then
  promtool=$(command -v promtool || true)
fi
[ -n "$promtool" ] && [ -x "$promtool" ] || { echo "promtool not found: run scripts/deps.sh" >&2; exit 1; }

"$promtool" check rules "$root/deploy/prometheus/alerts.yml"
(cd "$root/deploy/prometheus" && "$promtool" test rules alerts_test.yml)

for dashboard in "$root"/deploy/grafana/*.json; do
  python3 - "$dashboard" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d.get("title") and d.get("uid"), "a dashboard needs a title and a uid"
panels = d.get("panels", [])
assert panels, "no panels"
for p in panels:
    assert p.get("targets"), "panel %r has no query" % p.get("title")
    for t in p["targets"]:
        assert t.get("expr"), "panel %r has an empty query" % p.get("title")
print("%s: %d panels" % (sys.argv[1], len(panels)))
PY
done

known=$(grep -rhoE '"emporium_[a-z_]+"' "$root/src" | tr -d '"' | sort -u)
used=$(grep -rhoE 'emporium_[a-z_]+' "$root/deploy/prometheus/alerts.yml" "$root"/deploy/grafana/*.json |
       sed -E 's/_(bucket|sum|count)$//' | grep -v '^emporium_overview$' | sort -u)
unknown=$(comm -23 <(echo "$used") <(echo "$known"))
if [ -n "$unknown" ]; then
  echo "metrics named in deploy/ that the code does not record:" >&2
  echo "$unknown" >&2
  exit 1
fi
echo "monitoring files: ok ($(echo "$used" | wc -l) metrics, all recorded by the code)"
