#!/usr/bin/env bash
# Instructions the server executes per request for Q1 or Q2 of `pitchin-bench reads`, counted by callgrind: the same figure
# to within about 0.3% run after run, whatever else the machine is doing (the once-a-minute housekeeping may fall inside the
# count), so small changes can be compared where timings are noise.
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/pitchin_bench [KEEP=FILE] tools/callgrind-reads.sh [BINARY] [q1|q2] [N]
# Needs valgrind, curl and python3, and the bench data set (run `pitchin-bench reads` once to seed it).
# Starts the server under callgrind, sends 10 requests to warm it up, waits until it is idle, then counts N.
set -euo pipefail
BIN=${1:-target/release/pitchin}
QUERY=${2:-q2}
N=${3:-30}
case $QUERY in q1 | q2) ;; *) echo "the query is q1 or q2, not $QUERY" >&2; exit 2 ;; esac
PORT=${PORT:-8111}
: "${DATABASE_URL:?set DATABASE_URL to the bench database}"
OUT=$(mktemp -d)
SERVER=
finish() {
  status=$?
  if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; fi
  if [ "$status" -ne 0 ] && [ -f "$OUT/server.log" ]; then tail -20 "$OUT/server.log" >&2; fi
  rm -rf "$OUT"
}
trap finish EXIT
SECRET=callgrind-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')

# Q2 runs as the owner of the organisation with the most needs; its token is signed here as the server would sign
# it (HS256, `kid` = the first 8 bytes of the secret's SHA-256).
read -r ORG USER_ID < <(psql "$DATABASE_URL" -At -F ' ' -c "SELECT m.organisation_id, m.user_id FROM memberships m
  JOIN (SELECT organisation_id, COUNT(*) AS n FROM needs GROUP BY organisation_id ORDER BY n DESC, organisation_id LIMIT 1) big
  ON big.organisation_id = m.organisation_id WHERE m.role = 'OWNER' LIMIT 1")
REQUEST=$(SECRET=$SECRET python3 - "$QUERY" "$ORG" "$USER_ID" <<'PY'
import base64, hashlib, hmac, json, os, sys, time
query, org, user = sys.argv[1:4]
secret = os.environ["SECRET"].encode()
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
if query == "q1":
    print(json.dumps({"query": "{ needs(first: 20, filter: {categories: [ENGLISH_CLASSES], status: OPEN}, orderBy: NEWEST) { edges { node { id title organisation { name } } } } }"}))
    print("")
else:
    now = int(time.time())
    head = {"typ": "JWT", "alg": "HS256", "kid": hashlib.sha256(secret).hexdigest()[:16]}
    claims = {"sub": user, "role": "MEMBER", "iss": "pitchin", "aud": "pitchin-api", "iat": now, "nbf": now - 10, "exp": now + 86400}
    signed = b64(json.dumps(head).encode()) + "." + b64(json.dumps(claims).encode())
    token = signed + "." + b64(hmac.new(secret, signed.encode(), hashlib.sha256).digest())
    print(json.dumps({"query": "query($id: ID!) { organisation(id: $id) { name needs(first: 50) { edges { node { id title applications(first: 10) { edges { node { id status volunteer { displayName } } } } } } } } }",
                      "variables": {"id": b64(f"Organisation:{org}".encode())}}))
    print(token)
PY
)
BODY=$(sed -n 1p <<<"$REQUEST")
TOKEN=$(sed -n 2p <<<"$REQUEST")

# Production needs an SMTP server; these reads send no mail, so an address nothing listens on does.
JWT_SECRET=$SECRET PITCHIN_BIND=127.0.0.1:$PORT RUST_LOG=warn PITCHIN_ENV=production PITCHIN_SMTP_URL=smtp://127.0.0.1:9 \
  PITCHIN_RATE_LIMIT_PER_IP=0 PITCHIN_RATE_LIMIT_PER_USER=0 \
  valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.out" "$BIN" serve >"$OUT/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 180); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 1; done
curl -sf -o /dev/null "http://127.0.0.1:$PORT/healthz" || { echo "the server did not start in 3 minutes" >&2; exit 1; }
request() {
  curl -sf -X POST -H 'content-type: application/json' ${TOKEN:+-H "Authorization: Bearer $TOKEN"} \
    --data "$BODY" "http://127.0.0.1:$PORT/graphql"
}
for _ in $(seq 1 10); do request >"$OUT/response.json"; done
if grep -q '"errors"' "$OUT/response.json"; then cat "$OUT/response.json" >&2; exit 1; fi
# Idle: under callgrind, start-up work (the matching index) runs on long after the server answers.
cpu() { awk '{print $14 + $15}' "/proc/$SERVER/stat"; }
for _ in $(seq 1 300); do a=$(cpu); sleep 2; b=$(cpu); [ $((b - a)) -lt 20 ] && break; done
callgrind_control -z "$SERVER" >/dev/null
for _ in $(seq 1 "$N"); do request >/dev/null; done
callgrind_control -d "$SERVER" >/dev/null
kill "$SERVER"; wait "$SERVER" 2>/dev/null || true
SERVER=
TOTAL=$(awk '/^(summary|totals):/ {print $2; exit}' "$OUT"/callgrind.out.*)
echo "$QUERY: $((TOTAL / N)) instructions per request ($N requests, $TOTAL in all)"
# KEEP=FILE keeps the profile, for callgrind_annotate FILE.
if [ -n "${KEEP:-}" ]; then cp "$(ls "$OUT"/callgrind.out.* | tail -1)" "$KEEP"; fi
