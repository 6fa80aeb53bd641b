#!/usr/bin/env bash
# Deploys hiring-pipeline to your Google Cloud project with Terraform (or
# OpenTofu): checks that the code builds and its tests pass, then runs init,
# plan and, once you confirm, apply in infra/, and prints the functions' URLs.
#
# Usage: scripts/deploy.sh [--auto-approve] [--skip-tests]
#   --auto-approve  apply the plan without asking
#   --skip-tests    skip `go test ./...` (the build and vet still run)
# Environment: TF names the binary (default: terraform, else tofu).
# Needs infra/terraform.tfvars (start from infra/terraform.tfvars.example) and
# Application Default Credentials (gcloud auth application-default login).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
auto_approve=0
skip_tests=0
for arg in "$@"; do
  case "$arg" in
    --auto-approve) auto_approve=1 ;;
    --skip-tests) skip_tests=1 ;;
    -h | --help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "deploy.sh: unknown argument $arg (see --help)" >&2; exit 2 ;;
  esac
done

tf="${TF:-}"
if [[ -z "$tf" ]]; then
  if command -v terraform >/dev/null; then tf=terraform; elif command -v tofu >/dev/null; then tf=tofu; fi
fi
if [[ -z "$tf" ]]; then
  echo "deploy.sh: neither terraform nor tofu is on the PATH; install one (>= 1.5) or set TF" >&2
  exit 1
fi
if [[ ! -f "$root/infra/terraform.tfvars" ]]; then
  echo "deploy.sh: infra/terraform.tfvars is missing: copy infra/terraform.tfvars.example and set project_id, region and admins" >&2
  exit 1
fi

step() { printf '\n==> %s\n' "$*"; }

step "build check"
(cd "$root" && go vet ./... && go build ./...)
if ((skip_tests)); then
  echo "tests skipped (--skip-tests)"
else
  (cd "$root" && go test ./...)
fi

cd "$root/infra"
step "$tf init"
"$tf" init -input=false
step "$tf plan"
"$tf" plan -input=false -out=deploy.tfplan
if ((!auto_approve)); then
  read -r -p "Apply this plan? [y/N] " answer
  if [[ "$answer" != "y" && "$answer" != "Y" ]]; then
    echo "not applied"
    exit 1
  fi
fi
step "$tf apply"
"$tf" apply -input=false deploy.tfplan
rm -f deploy.tfplan

step "deployed"
"$tf" output function_urls
"$tf" output buckets
project="$(sed -n 's/^project_id *= *"\(.*\)"/\1/p' terraform.tfvars)"
region="$(sed -n 's/^region *= *"\(.*\)"/\1/p' terraform.tfvars)"
echo
echo "Check the deployment: go run ./cmd/hiring smoke --project $project --region $region"
