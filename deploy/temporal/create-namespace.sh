#!/bin/sh
# One-shot run by the `temporal-namespace` service (temporalio/admin-tools
# image). temporalio/server (unlike the deprecated auto-setup image) registers
# no namespace, so this creates the application's namespace if it is missing.
# The `temporal` CLI reads TEMPORAL_ADDRESS from the environment.
set -eu

: "${TEMPORAL_ADDRESS:?TEMPORAL_ADDRESS must be set}"
: "${TEMPORAL_NAMESPACE:?TEMPORAL_NAMESPACE must be set}"
retention="${TEMPORAL_NAMESPACE_RETENTION:-168h}"

i=0
until temporal operator cluster health >/dev/null 2>&1; do
  i=$((i + 1))
  if [ "$i" -ge 60 ]; then echo "temporal did not become healthy" >&2; exit 1; fi
  echo "waiting for temporal at ${TEMPORAL_ADDRESS}"
  sleep 2
done

if temporal operator namespace describe -n "$TEMPORAL_NAMESPACE" >/dev/null 2>&1; then
  echo "namespace ${TEMPORAL_NAMESPACE} already exists"
else
  temporal operator namespace create -n "$TEMPORAL_NAMESPACE" --retention "$retention"
  echo "namespace ${TEMPORAL_NAMESPACE} created (retention ${retention})"
fi
