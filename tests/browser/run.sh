#!/usr/bin/env bash
# The dashboard's browser test: starts the built `inlet serve` on a throw-away config,
# sends one signed event with `inlet send`, and drives Chromium through dashboard.mjs.
# Needs: target/debug/inlet (cargo test builds it), node + npm, /usr/bin/chromium.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
inlet="$root/target/debug/inlet"
shots="${SCREENSHOTS:-$root/target/screenshots}"
mkdir -p "$shots"
work="$(mktemp -d)"
trap 'kill "${pid:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT

admin_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
ingest_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
token="browser-test-token"
cat > "$work/inlet.toml" <<TOML
[server]
listen = "127.0.0.1:$ingest_port"
[admin]
listen = "127.0.0.1:$admin_port"
token = "$token"
[storage]
url = "sqlite://inlet.db"
[sources.shop]
scheme = "github"
secrets = ["browser-secret"]
[destinations.archive]
kind = "file"
path = "events.jsonl"
retry = ["0s"]
[[routes]]
from = ["shop"]
to = ["archive"]
TOML
"$inlet" serve -c "$work/inlet.toml" 2>"$work/serve.log" &
pid=$!
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$admin_port/healthz" >/dev/null && break
  sleep 0.1
done
echo '{"action":"opened","issue":{"number":1}}' > "$work/event.json"
answer=$("$inlet" send "http://127.0.0.1:$ingest_port/webhooks/shop" --scheme github --secret browser-secret "$work/event.json" | tail -1)
event_id=$(printf '%s' "$answer" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')

cd "$here"
[ -d node_modules/playwright-core ] || npm ci --no-audit --no-fund --silent
INLET_ADMIN="http://127.0.0.1:$admin_port" INLET_ADMIN_TOKEN="$token" EVENT_ID="$event_id" SCREENSHOTS="$shots" \
  node dashboard.mjs
