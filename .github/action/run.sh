#!/usr/bin/env bash
# action.yml's start step: `cloudstart start -o json` with the inputs as flags; the report, the exit code
# and the addresses become step outputs, and the step fails with cloudstart's exit code.
set -uo pipefail
args=(start -o json)
[ -n "${CLOUDSTART_ACTION_PROVIDER:-}" ] && args+=(--provider "$CLOUDSTART_ACTION_PROVIDER")
[ -n "${CLOUDSTART_ACTION_REGION:-}" ] && args+=(--region "$CLOUDSTART_ACTION_REGION")
[ -n "${CLOUDSTART_ACTION_ZONE:-}" ] && args+=(--zone "$CLOUDSTART_ACTION_ZONE")
[ -n "${CLOUDSTART_ACTION_TIMEOUT:-}" ] && args+=(--timeout "$CLOUDSTART_ACTION_TIMEOUT")
wait_ports="${CLOUDSTART_ACTION_WAIT_PORT:-}"
for port in ${wait_ports//,/ }; do
  args+=(--wait-port "$port")
done
# Split on whitespace (spaces, tabs, newlines) without glob expansion.
set -f
# shellcheck disable=SC2206
extra=(${CLOUDSTART_ACTION_ARGS:-})
# shellcheck disable=SC2206
targets=(${CLOUDSTART_ACTION_TARGETS:-})
set +f
args+=("${extra[@]}")
if [ "${#targets[@]}" -eq 0 ]; then
  echo "::error::the targets input is empty"
  exit 2
fi
args+=(-- "${targets[@]}")

report="${RUNNER_TEMP:-/tmp}/cloudstart-report-$$.json"
cloudstart "${args[@]}" > "$report"
code=$?

if command -v jq >/dev/null 2>&1; then
  addresses="$(jq -c '[.instances[]? | {provider, id, outcome, public: .addresses.public, private: .addresses.private}]' "$report" 2>/dev/null)"
  public="$(jq -r '[.instances[]?.addresses.public[]] | join(" ")' "$report" 2>/dev/null)"
else
  addresses="$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(json.dumps([{"provider":i["provider"],"id":i["id"],"outcome":i["outcome"],"public":i["addresses"]["public"],"private":i["addresses"]["private"]} for i in r.get("instances",[])],separators=(",",":")))' "$report" 2>/dev/null)"
  public="$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(" ".join(a for i in r.get("instances",[]) for a in i["addresses"]["public"]))' "$report" 2>/dev/null)"
fi
delimiter="cloudstart-report-$RANDOM$RANDOM$RANDOM"
{
  echo "exit-code=$code"
  echo "addresses=${addresses:-[]}"
  echo "public-addresses=${public:-}"
  echo "report<<$delimiter"
  cat "$report"
  echo
  echo "$delimiter"
} >> "${GITHUB_OUTPUT:-/dev/stdout}"
cat "$report"
exit "$code"
