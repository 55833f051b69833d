#!/usr/bin/env bash
# Validates docker-compose.yml (syntax, schema, interpolation) without a Docker engine.
# CI calls this; it skips with exit 0 where no Compose client is installed.
set -euo pipefail
cd "$(dirname "$0")/.."

file=docker-compose.yml
# Both profiles, so the GPU service is checked too.
args=(-f "$file" --profile gpu config -q)

if command -v docker >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then
  docker compose "${args[@]}"
  echo "check-compose: $file is valid ($(docker compose version --short 2>/dev/null || echo 'docker compose'))"
elif command -v docker-compose >/dev/null 2>&1; then
  docker-compose "${args[@]}"
  echo "check-compose: $file is valid (docker-compose $(docker-compose version --short 2>/dev/null || true))"
else
  echo "check-compose: skipped, no Docker Compose client (docker compose plugin or docker-compose) on this machine"
fi
