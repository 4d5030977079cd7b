#!/usr/bin/env bash
# The artifact store over HTTP: listing, Range downloads, signed links, hostile names, delete,
# restart, retention, and proflab fetch resuming a cut download.
source "$(dirname "$0")/lib.sh"
MINT="python3 $E2E_DIR/tokmint.py"
ART=$WORK/art
mkdir -p "$ART" && chmod 755 "$ART"
head -c 3000000 /dev/urandom >"$ART/cpu-a.cpuprofile"
head -c 70000 /dev/urandom >"$ART/heap-b.heapsnapshot"
echo secret-outside >"$WORK/outside.txt"
ln -s "$WORK/outside.txt" "$ART/link.bin"
ln -s /etc/passwd "$ART/passwd"
mkdir "$ART/folder.bin"
echo junk >"$ART/.cpu-old.cpuprofile.part"
echo odd >"$ART/with space.bin"
SHA_A=$(sha256sum "$ART/cpu-a.cpuprofile" | cut -d' ' -f1)
# to OUT METHOD URL [curl args]: like req, with the body in OUT (binary) instead of BODY
to() {
  local out=$1 method=$2 url=$3; shift 3
  STATUS=$(curl -sS -o "$out" -D "$WORK/hdr.to" -X "$method" -w '%{http_code}' "$@" "$url" 2>"$WORK/curl.err")
  HEADERS=$(cat "$WORK/hdr.to")
  BODY=$(head -c 2000 "$out" | tr -d '\0')
}

start_server art LAB_ENABLE=true LAB_TOKEN="$TOKEN" -- --artifacts "$ART" || exit 1
check "the folder is made 0700" 700 "$(stat -c %a "$ART")"
check "a crashed write's temporary file is removed at start" no "$([ -e "$ART/.cpu-old.cpuprofile.part" ] && echo yes || echo no)"

lab GET /api/lab/artifacts
check "list is 200" 200 "$STATUS"
check "only regular files with artifact names are listed" '["heap-b.heapsnapshot", "cpu-a.cpuprofile"]' \
  "$(python3 -c 'import json,sys; print(json.dumps(sorted([a["name"] for a in json.loads(sys.argv[1])["artifacts"]],reverse=True)))' "$BODY")"
check "size" 3000000 "$(python3 -c 'import json,sys; print([a["size"] for a in json.loads(sys.argv[1])["artifacts"] if a["name"]=="cpu-a.cpuprofile"][0])' "$BODY")"
check "sha256" "$SHA_A" "$(python3 -c 'import json,sys; print([a["sha256"] for a in json.loads(sys.argv[1])["artifacts"] if a["name"]=="cpu-a.cpuprofile"][0])' "$BODY")"
check_match "kind and createdAt" '"kind":"cpu".*"createdAt":"20' "$BODY"

# downloads
P=/api/lab/artifacts/cpu-a.cpuprofile
to "$WORK/a.out" GET "$URL""$P" -H "x-lab-token: $TOKEN"
check "download is 200" 200 "$STATUS"
check "the bytes are the file's" "$SHA_A" "$(sha256sum "$WORK/a.out" | cut -d' ' -f1)"
check_match "Content-Length" $'[Cc]ontent-[Ll]ength: 3000000\r' "$HEADERS"
check_match "ETag is the SHA-256" "etag: \"$SHA_A\"" "$HEADERS"
B64=$(python3 -c 'import base64,sys; print(base64.b64encode(bytes.fromhex(sys.argv[1])).decode())' "$SHA_A")
check "Repr-Digest carries the SHA-256" yes "$([[ $HEADERS == *"repr-digest: sha-256=:$B64:"* ]] && echo yes || echo no)"
check_match "Accept-Ranges" 'accept-ranges: bytes' "$HEADERS"
to "$WORK/r.out" GET "$URL""$P" -H "x-lab-token: $TOKEN" -r 1000-1999
check "Range is 206" 206 "$STATUS"
check_match "Content-Range" 'content-range: bytes 1000-1999/3000000' "$HEADERS"
check "the range's bytes" "$(tail -c +1001 "$ART/cpu-a.cpuprofile" | head -c 1000 | sha256sum)" "$(sha256sum <"$WORK/r.out")"
to "$WORK/r.out" GET "$URL""$P" -H "x-lab-token: $TOKEN" -H "Range: bytes=-10"
check "suffix range" "206 $(tail -c 10 "$ART/cpu-a.cpuprofile" | sha256sum)" "$STATUS $(sha256sum <"$WORK/r.out")"
to "$WORK/r.out" GET "$URL""$P" -H "x-lab-token: $TOKEN" -H "Range: bytes=2999990-"
check "open range to the end" "206 10" "$STATUS $(stat -c %s "$WORK/r.out")"
lab GET "$P" -H "Range: bytes=3000000-"
check "a range past the end is 416" 416 "$STATUS"
check_match "... with Content-Range */size" 'content-range: bytes \*/3000000' "$HEADERS"
to "$WORK/r.out" GET "$URL""$P" -H "x-lab-token: $TOKEN" -H "Range: bytes=0-1,5-6"
check "several ranges: the whole file, 200" "200 3000000" "$STATUS $(stat -c %s "$WORK/r.out")"
to "$WORK/r.out" GET "$URL""$P" -H "x-lab-token: $TOKEN" -H "Range: bytes=10-20" -H 'If-Range: "stale"'
check "If-Range with another ETag: the whole file" "200 3000000" "$STATUS $(stat -c %s "$WORK/r.out")"
to "$WORK/r.out" GET "$URL""$P" -H "x-lab-token: $TOKEN" -H "Range: bytes=10-20" -H "If-Range: \"$SHA_A\""
check "If-Range with this ETag: the range" "206 11" "$STATUS $(stat -c %s "$WORK/r.out")"
lab HEAD "$P" -I
check_match "HEAD gives the length without the body" $'[Cc]ontent-[Ll]ength: 3000000\r' "$HEADERS"
# health stays fast while a big download runs
to /dev/null GET "$URL""$P" -H "x-lab-token: $TOKEN" --limit-rate 1M &
dl=$!
sleep 0.3
req GET "$URL/api/health"
check_cmp "health answers within 50 ms during a download (took ${TIME}s)" "python3 -c 'import sys; sys.exit(0 if $TIME < 0.05 else 1)'"
kill $dl 2>/dev/null; wait $dl 2>/dev/null

# signed links: a token bound to one artifact, in the URL
LINKT=$($MINT "$TOKEN" artifacts:read -1 +900 cpu-a.cpuprofile)
to "$WORK/l.out" GET "$URL$P?token=$LINKT"
check "a bound token opens its artifact with plain curl" "200 $SHA_A" "$STATUS $(sha256sum "$WORK/l.out" | cut -d' ' -f1)"
req GET "$URL/api/lab/artifacts/heap-b.heapsnapshot?token=$LINKT"
check "... not another artifact (403)" "403 out_of_scope" "$STATUS $(json error)"
req GET "$URL/api/lab/artifacts?token=$LINKT"
check "... not the list (URL tokens only on GET one artifact)" 401 "$STATUS"
req GET "$URL/api/lab/artifacts" -H "Authorization: Bearer $LINKT"
check "... nor the list in a header (403)" 403 "$STATUS"
req DELETE "$URL$P?token=$LINKT"
check "... no DELETE with a URL token" 401 "$STATUS"
req GET "$URL/api/lab/status?token=$LINKT"
check "... ?token= on status is not read" 401 "$STATUS"
req GET "$URL$P?token=$TOKEN"
check "the master token never rides in a URL" 401 "$STATUS"
UNBOUND=$($MINT "$TOKEN" artifacts:read -1 +900)
req GET "$URL$P?token=$UNBOUND"
check "an unbound token in the URL is 401" 401 "$STATUS"
req GET "$URL$P?token=$LINKT&x=1"
check "a download takes no other parameter" 400 "$STATUS"
EXPIRED=$($MINT "$TOKEN" artifacts:read -1000 -100 cpu-a.cpuprofile)
req GET "$URL$P?token=$EXPIRED"
check "an expired link is 401 token_expired" "401 token_expired" "$STATUS $(json error)"
lab POST "/api/lab/tokens?artifact=cpu-a.cpuprofile&ttl=15m"
check "minting a link over HTTP" 200 "$STATUS"
check_match "... answers an absolute download URL from the request's Host" "^$URL/api/lab/artifacts/cpu-a.cpuprofile\\?token=pl1\\." "$(json download)"
to /dev/null GET "$(json download)"
check "... which works" 200 "$STATUS"

# hostile names: the right status, and nothing from outside the folder
lab GET "/api/lab/artifacts/.." --path-as-is
check "/api/lab/artifacts/.. is normalised to the catalog, not the folder" "200 1" "$STATUS $(printf '%s' "$BODY" | grep -c '"scenarios"')"
for p in "/api/lab/artifacts/%2e%2e%2f%2e%2e%2fetc%2fpasswd" "/api/lab/artifacts/..%2foutside.txt" \
         "/api/lab/artifacts//etc/passwd" "/api/lab/artifacts/%2fetc%2fpasswd" "/api/lab/artifacts/a%00b" \
         "/api/lab/artifacts/..%5c..%5coutside.txt" "/api/lab/artifacts/link.bin" "/api/lab/artifacts/passwd" \
         "/api/lab/artifacts/folder.bin" "/api/lab/artifacts/.cpu-a.cpuprofile.meta" "/api/lab/artifacts/with%20space.bin" \
         "/api/lab/artifacts/cpu-a.cpuprofile/" "/api/lab/artifacts/cpu-a.cpuprofile/x"; do
  lab GET "$p" --path-as-is
  check_match "GET $p is refused (400/404)" '^(400|404)$' "$STATUS"
  check "GET $p reads nothing outside" 0 "$(printf '%s' "$BODY" | grep -c 'root:\|secret-outside')"
done
lab GET "/api/lab/artifacts/%2e%2e%2f%2e%2e%2fetc%2fpasswd?token=$LINKT" --path-as-is
check "an encoded traversal with a link token reads nothing" 0 "$(printf '%s' "$BODY" | grep -c 'root:')"

# delete, restart, the sidecar
lab DELETE /api/lab/artifacts/heap-b.heapsnapshot
check "delete" "200 \"heap-b.heapsnapshot\"" "$STATUS $(python3 -c 'import json,sys; print(json.dumps(json.loads(sys.argv[1])["deleted"]))' "$BODY")"
check "the file is gone" no "$([ -e "$ART/heap-b.heapsnapshot" ] && echo yes || echo no)"
lab DELETE /api/lab/artifacts/heap-b.heapsnapshot
check "delete again is 404" 404 "$STATUS"
lab DELETE /api/lab/artifacts/link.bin
check "a symlink is not an artifact: 404" 404 "$STATUS"
check "... and the file it points to is untouched" secret-outside "$(cat "$WORK/outside.txt")"
lab POST /api/lab/heap-snapshot
check "a heap snapshot" 200 "$STATUS"
HEAP=$(json filePath); HEAP=${HEAP##*/}
check_match "its answer carries a signed download link" "^$URL/api/lab/artifacts/$HEAP\\?token=pl1\\." "$(json download)"
LINK=$(json download)
to "$WORK/h.out" GET "$LINK"
check "the link downloads the snapshot" "200 $(sha256sum "$ART/$HEAP" | cut -d' ' -f1)" "$STATUS $(sha256sum "$WORK/h.out" | cut -d' ' -f1)"
check "artifact files are 0600" 600 "$(stat -c %a "$ART/$HEAP")"
stop_server art
touch -d '2020-01-01' "$ART/cpu-a.cpuprofile" "$ART/.cpu-a.cpuprofile.meta"
start_server art2 LAB_ENABLE=true LAB_TOKEN="$TOKEN" LAB_PUBLIC_URL=https://lab.example:8443/prefix -- --artifacts "$ART" || exit 1
lab GET /api/lab/artifacts
check_match "after a restart the snapshot is listed again" "\"name\":\"$HEAP\"" "$BODY"
to "$WORK/h2.out" GET "$URL/api/lab/artifacts/$HEAP?token=${LINK##*token=}"
check "a link made before the restart still works" "200 $(sha256sum "$ART/$HEAP" | cut -d' ' -f1)" "$STATUS $(sha256sum "$WORK/h2.out" | cut -d' ' -f1)"
lab POST /api/lab/heap-snapshot
check_match "LAB_PUBLIC_URL is the base of links" '^https://lab.example:8443/prefix/api/lab/artifacts/heap-.*\?token=pl1\.' "$(json download)"
stop_server art2

# proflab fetch: full, resumed after a cut, a bad partial file
FURL="$URL$P?token=$LINKT"
start_server art3 LAB_ENABLE=true LAB_TOKEN="$TOKEN" -- --artifacts "$ART" || exit 1
FURL="$URL$P?token=$LINKT"
BIN=$(cd "$(dirname "$PROFLAB_BIN")" && pwd)/$(basename "$PROFLAB_BIN")
(cd "$WORK" && "$BIN" fetch "$FURL" 2>"$WORK/fetch.err"); rc=$?
check "fetch exits 0" 0 "$rc"
check "fetch names the file from the URL and the SHA-256 matches" "$SHA_A" "$(sha256sum "$WORK/cpu-a.cpuprofile" | cut -d' ' -f1)"
check "fetch never prints the token" 0 "$(grep -c "$LINKT" "$WORK/fetch.err")"
"$PROFLAB_BIN" fetch "$FURL" -o "$WORK/cut.bin" --limit-rate 500000 2>"$WORK/fetch.err" &
fp=$!
sleep 1.5
kill -KILL $fp 2>/dev/null; wait $fp 2>/dev/null
part=$(stat -c %s "$WORK/cut.bin.part" 2>/dev/null || echo 0)
check_cmp "a download cut midway leaves a partial file ($part bytes)" "(( part > 0 && part < 3000000 ))"
check "... and no final file" no "$([ -e "$WORK/cut.bin" ] && echo yes || echo no)"
"$PROFLAB_BIN" fetch "$FURL" -o "$WORK/cut.bin" 2>"$WORK/fetch.err"; rc=$?
check "fetch resumes it" 0 "$rc"
check_match "... with a Range from where it stopped" "resuming .* at byte $part" "$(cat "$WORK/fetch.err")"
check "... and ends with the right SHA-256" "$SHA_A" "$(sha256sum "$WORK/cut.bin" | cut -d' ' -f1)"
check_match "the server answered 206 to the resume" 'path=/api/lab/artifacts/cpu-a.cpuprofile status=206' "$(cat "$LOG")"
head -c 1000000 /dev/urandom >"$WORK/bad.bin.part"
"$PROFLAB_BIN" fetch "$FURL" -o "$WORK/bad.bin" 2>"$WORK/fetch.err"; rc=$?
check "a partial file that is not a prefix: SHA-256 mismatch, then a fresh download" "0 $SHA_A" "$rc $(sha256sum "$WORK/bad.bin" | cut -d' ' -f1)"
check_match "... said so" 'mismatch' "$(cat "$WORK/fetch.err")"
"$PROFLAB_BIN" fetch "$URL/api/lab/artifacts/heap-b.heapsnapshot?token=$LINKT" -o "$WORK/x.bin" 2>"$WORK/fetch.err"; rc=$?
check "fetch with a token for another artifact exits 1" 1 "$rc"
check_match "... with the server's answer" '403' "$(cat "$WORK/fetch.err")"
check "... leaving no file" no "$([ -e "$WORK/x.bin" ] && echo yes || echo no)"
stop_server art3

# retention: 3 artifacts of 2 MB against a 5 MB budget, the oldest goes at start
R=$WORK/ret; mkdir -p "$R"
for i in 1 2 3; do head -c 2000000 /dev/urandom >"$R/cpu-$i.bin"; touch -d "2024-01-0$i" "$R/cpu-$i.bin"; done
start_server ret LAB_ENABLE=true LAB_TOKEN="$TOKEN" LAB_ARTIFACTS_MAX_MB=5 -- --artifacts "$R" || exit 1
lab GET /api/lab/artifacts
check "the oldest artifact is removed first" '["cpu-3.bin", "cpu-2.bin"]' "$(python3 -c 'import json,sys; print(json.dumps([a["name"] for a in json.loads(sys.argv[1])["artifacts"]]))' "$BODY")"
check "... from disk too" no "$([ -e "$R/cpu-1.bin" ] && echo yes || echo no)"
check "budgetBytes" 5242880 "$(json budgetBytes)"
stop_server ret
# a write that cannot be kept (past the budget, as a full disk): 507, and no file at all
F=$WORK/full; mkdir -p "$F"
start_server full LAB_ENABLE=true LAB_TOKEN="$TOKEN" LAB_ARTIFACTS_MAX_MB=1 -- --artifacts "$F" || exit 1
for _ in 1 2 3 4; do lab POST "/api/lab/listener-growth?count=10000&kb=0"; done
lab POST /api/lab/heap-snapshot
check "a snapshot larger than the budget is 507" "507 insufficient_storage" "$STATUS $(json error)"
check_match "... saying why" 'LAB_ARTIFACTS_MAX_MB' "$(json message)"
check "... and leaves no file, partial or whole" 0 "$(find "$F" -type f | wc -l)"
lab GET /api/lab/artifacts
check "... nor a listed artifact" '[]' "$(json artifacts)"
stop_server full
check "no token appears in the logs" 0 "$(cat "$WORK"/*.log | grep -c -- "$TOKEN\|$LINKT")"
finish
