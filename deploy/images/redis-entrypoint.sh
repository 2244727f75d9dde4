#!/bin/sh
# `redis-server …` runs as `redis` with its files in /data; without a configuration file Redis
# refuses clients from other hosts (protected mode), which a container's network always is, so it
# is turned off here as in the official image. Any other command runs as given.
set -eu
[ "${1:-}" = redis-server ] || exec "$@"
shift
chown redis:redis /data
exec setpriv --reuid=redis --regid=redis --init-groups redis-server --protected-mode no --dir /data "$@"
