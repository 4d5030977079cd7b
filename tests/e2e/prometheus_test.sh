#!/usr/bin/env bash
# A real Prometheus server (Debian's prometheus) scrapes /api/metrics and the admin listener
# every second; its HTTP API must report both targets up and serve proflab's series.
source "$(dirname "$0")/lib.sh"
command -v prometheus >/dev/null || { not_ok "prometheus is installed (Debian: prometheus)"; finish; exit 1; }
start_server prom LAB_ENABLE=true LAB_TOKEN="$TOKEN" -- --admin-listen 127.0.0.1:0 || exit 1
ADMIN=$(sed -n 's/.*msg="admin listening" url=http:\/\/\([^/]*\)\/.*/\1/p' "$LOG" | head -n1)
MAIN=${URL#http://}
lab POST "/api/lab/listener-growth?count=3&kb=0"
check "listener-growth answers" 200 "$STATUS"

PPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$WORK/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 900ms
  evaluation_interval: 1s
scrape_configs:
  - job_name: proflab
    metrics_path: /api/metrics
    static_configs:
      - targets: ['$MAIN']
  - job_name: proflab-admin
    metrics_path: /api/metrics
    static_configs:
      - targets: ['$ADMIN']
EOF
prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/tsdb" \
  --web.listen-address="127.0.0.1:$PPORT" > "$WORK/prometheus.log" 2>&1 &
SERVER_PIDS+=($!)
PROM=http://127.0.0.1:$PPORT

# query EXPR: the first result's value, or "" when none
query() {
  curl -s --max-time 2 -G "$PROM/api/v1/query" --data-urlencode "query=$1" |
    python3 -c 'import json,sys
try:
    r = json.load(sys.stdin)["data"]["result"]
    print(r[0]["value"][1] if r else "")
except Exception:
    print("")'
}
# query_wait EXPR: the value once the series exists (a series appears from the scrape after
# the one that created it, e.g. the count of /api/metrics itself)
query_wait() {
  local v=""
  for _ in $(seq 1 20); do v=$(query "$1"); [ -n "$v" ] && break; sleep 0.5; done
  echo "$v"
}
up="" upa=""
for _ in $(seq 1 60); do
  up=$(query 'up{job="proflab"}'); upa=$(query 'up{job="proflab-admin"}')
  [ "$up" = 1 ] && [ "$upa" = 1 ] && break
  sleep 0.5
done
check "Prometheus scrapes /api/metrics: up 1" 1 "$up"
check "Prometheus scrapes the admin listener: up 1" 1 "$upa"
targets=$(curl -s --max-time 2 "$PROM/api/v1/targets")
check "no scrape error on any target" "up up |||" "$(python3 -c 'import json,sys
t = json.loads(sys.argv[1])["data"]["activeTargets"]
print(" ".join(sorted(x["health"] for x in t)), "|" + "|".join(x["lastError"] for x in t) + "|")' "$targets")"
check "proflab_info reaches Prometheus" 1 "$(query_wait 'proflab_info{job="proflab"}')"
check "a scenario gauge reaches Prometheus" 3 "$(query_wait 'listener_growth_listeners{job="proflab"}')"
check_cmp "the lag histogram is counted" "python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) > 10 else 1)' '$(query_wait 'proflab_eventloop_lag_seconds_count{job="proflab-admin"}')'"
check_cmp "the scrapes themselves are counted by route" "python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) >= 1 else 1)' '$(query_wait 'http_requests_total{job="proflab",route="/api/metrics",status="200"}')'"
kill "${SERVER_PIDS[-1]}" 2>/dev/null
stop_server prom
finish
