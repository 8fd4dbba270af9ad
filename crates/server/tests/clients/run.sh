#!/usr/bin/env bash
# Runs the public Natero client libraries, unchanged, against `accord serve` and prints how many of
# their calls pass. Not part of `cargo test`: it needs Ruby with httparty and activesupport
# (Debian: ruby ruby-httparty ruby-activesupport), Python with `requests`, and checkouts of the
# clients: the `natero` and `freshworks` gems (bonusly) and `pytero` (sanamforoughi).
#
#   crates/server/tests/clients/run.sh ACCORD_BINARY NATERO_GEM_DIR FRESHWORKS_GEM_DIR PYTERO_DIR
#
# Each client gets a fresh hub. Every call is checked for its effect (what was written reads back),
# not only for its HTTP status; the scripts print one line per call.
set -euo pipefail

accord=$(realpath "$1")
natero=$(realpath "$2")
freshworks=$(realpath "$3")
pytero=$(realpath "$4")
here=$(cd "$(dirname "$0")" && pwd)
python=${PYTHON:-python3}

serve() {
    # $1: a fresh directory. Starts accord serve there on a free port; sets $port and $pid.
    local dir=$1
    printf 'id,name,joined\n' >"$dir/accounts.csv"
    printf 'client-key' >"$dir/key"
    printf 'client-auth' >"$dir/auth"
    printf 'client-send' >"$dir/send"
    cat >"$dir/accord.toml" <<TOML
store = "sqlite://hub.db"
[system_of_record]
source = "crm"
object = "accounts"
account_id = "id"
name = "name"
join_date = "joined"
[sources.crm]
kind = "file"
[[sources.crm.objects]]
name = "accounts"
kind = "account"
path = "accounts.csv"
[server]
api_key = { file = "key" }
[[server.event_sources]]
source = "product"
auth_key = { file = "auth" }
api_key = { file = "send" }
TOML
    port=$($python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    "$accord" --config "$dir/accord.toml" serve --listen "127.0.0.1:$port" >"$dir/serve.log" 2>&1 &
    pid=$!
    for _ in $(seq 100); do
        curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "accord serve did not start; see $dir/serve.log" >&2
    return 1
}

summary=()
run_client() {
    # $1: label; the rest: the command, given URL and keys through the environment.
    local label=$1
    shift
    local dir
    dir=$(mktemp -d)
    serve "$dir"
    local out
    out=$(ACCORD_URL="http://127.0.0.1:$port" ACCORD_KEY=client-key ACCORD_AUTH=client-auth ACCORD_SEND=client-send \
        "$@" 2>&1 || true)
    kill "$pid" && wait "$pid" 2>/dev/null || true
    rm -rf "$dir"
    echo "== $label"
    echo "$out"
    summary+=("$label: $(echo "$out" | grep -c '^PASS') of $(echo "$out" | grep -c '^\(PASS\|FAIL\)') calls pass")
}

run_client "natero gem" ruby -I "$natero/lib" "$here/gem_calls.rb" Natero
run_client "freshworks gem" ruby -I "$freshworks/lib" "$here/gem_calls.rb" Freshworks
run_client "pytero" env PYTHONPATH="$pytero" "$python" "$here/pytero_calls.py"
echo
printf '%s\n' "${summary[@]}"
