#!/usr/bin/env bash
# A short tour of agentid on the built-in emulated tenant "Contoso": create a blueprint, spawn
# agents from it, give one an agent user and the blueprint a group sponsor, disable one, list them. It uses a
# throw-away AGENTID_HOME unless you set one, so your own emulated tenant is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."
export AGENTID_HOME="${AGENTID_HOME:-$(mktemp -d)}"
agentid() { node bin/agentid.js "$@"; }
step() { printf '\n\033[1m$ agentid %s\033[0m\n' "$*"; agentid "$@"; }

echo "Emulated tenant state: $AGENTID_HOME"
step status
step blueprint create --name "Sales Agent" --sponsor meganb@contoso.onmicrosoft.com --owner me --unique-name sales-agent
step blueprint permission add "Sales Agent" --resource graph --scopes User.Read,Mail.Read
for region in EMEA APAC AMER; do
  step agent create --blueprint "Sales Agent" --name "Sales Agent $region" --sponsor meganb@contoso.onmicrosoft.com
done
step agent-user create --agent "Sales Agent EMEA" --upn sales-emea@contoso.onmicrosoft.com
# A signed-in user may change a blueprint's sponsors; an agent's sponsors only an app can change
# (Graph has no delegated permission for it, and the emulator refuses it the same way).
step sponsor add --blueprint "Sales Agent" --group 7a2b0d3c-0001-4b6c-9dae-000000000101
step sponsor list --blueprint "Sales Agent"
step agent disable "Sales Agent APAC"
step agent list --blueprint "Sales Agent"
step agent list --blueprint "Sales Agent" --disabled -o json --query "[].displayName"
echo
echo "Re-running the idempotent create changes nothing:"
step blueprint create --name "Sales Agent" --sponsor meganb@contoso.onmicrosoft.com --unique-name sales-agent -o json --query created
