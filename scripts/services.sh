#!/usr/bin/env bash
# Local PostgreSQL 15 + Redis 7 for development and tests, under .local/<profile>/.
#
#   scripts/services.sh start  [PROFILE]   start (idempotent), print nothing on success
#   scripts/services.sh stop   [PROFILE]   stop what this script started (pid files)
#   scripts/services.sh env    [PROFILE]   print `export` lines for the profile
#   scripts/services.sh status [PROFILE]
#   scripts/services.sh reset  cluster     stop, then delete the profile's data (the next start
#                                          builds it from scratch)
#
# Profiles: dev (`make run`), test (`make test`), bench (`make bench`): one PostgreSQL and one Redis
# each; cluster (`make run CLUSTER=1`, the tests labelled `cluster`), below.
#
# Ports (below the kernel's ephemeral range 32768-60999, so an outgoing connection can never hold
# them): PG_PORT / REDIS_PORT override the profile defaults (dev 25432/26379, test 25433/26380,
# bench 25434/26381).
# PostgreSQL refuses to run as root, so its data directory belongs to the unprivileged
# `postgres` user (created by the postgresql package). Everything listens on 127.0.0.1 only.
#
# The cluster profile (.local/cluster/), for the work on running past one machine:
#   - a Redis Cluster of 3 masters + 3 replicas on REDIS_CLUSTER_PORT..+5 (27000-27005; cluster bus
#     on port+100), cluster-node-timeout 2000 ms so that a replica takes over from a dead master
#     within a few seconds; one directory per node (redis/<port>/: nodes.conf, redis.pid, AOF);
#   - three independent Redis masters for Redlock on REDIS_LOCK_PORT..+2 (27010-27012, redis-lock/
#     <port>/): the locks must not live in the cluster, whose failover can lose a lock;
#   - a PostgreSQL primary on PG_PORT (25440, pg/) and two streaming replicas on PG_PORT+1, +2
#     (pg-replica1/, pg-replica2/), made with pg_basebackup, each with its replication slot
#     (replica1, replica2) and hot_standby_feedback. fsync is off (the data is disposable; `reset`);
#     synchronous_commit stays on, so a primary killed by a test keeps what it acknowledged.
#   `start` accepts a healthy cluster whatever its master/replica roles (a failover test swaps
#   them), restarts any node that is down (a Redis node rejoins, as a replica if it was failed
#   over), resumes WAL replay on a paused replica, and waits until every Redis node says
#   cluster_state:ok, every Redis replica's link is up and both PostgreSQL replicas are streaming.
#   Redis keeps an AOF (as in dev): `make run CLUSTER=1` keeps jobs and fencing counters across
#   restarts. `status cluster` exits 1 unless all of it is up.
#   Two helpers for failover tests (a node starts again with the settings it was made with):
#     scripts/services.sh stop-node  cluster PORT [kill]   stop one node by its port: Redis by pid
#         (SIGTERM; `kill`: SIGKILL, a crash), PostgreSQL with pg_ctl -m fast (`kill`: -m immediate)
#     scripts/services.sh start-node cluster PORT          start that node again and wait until it
#         is back: a Redis node is part of a healthy cluster again (cluster_state:ok, seen by the
#         others in the role it has, a replica's link up), a PostgreSQL replica streams again, the
#         primary accepts connections and its running replicas stream again (but a paused one
#         reconnects only once resumed)
#   Tests may as well kill a Redis node themselves (EMPORIUM_CLUSTER_REDIS_PIDFILES), pause replay
#   with `SELECT pg_wal_replay_pause()`, and call `start cluster` to make the cluster whole again.
set -euo pipefail

cmd=${1:-start}
profile=${2:-dev}
root=$(cd "$(dirname "$0")/.." && pwd)
case "$profile" in
  dev)  pg_port=${PG_PORT:-25432}; redis_port=${REDIS_PORT:-26379} ;;
  test) pg_port=${PG_PORT:-25433}; redis_port=${REDIS_PORT:-26380} ;;
  bench) pg_port=${PG_PORT:-25434}; redis_port=${REDIS_PORT:-26381} ;;
  cluster)
    pg_port=${PG_PORT:-25440}
    redis_port=${REDIS_CLUSTER_PORT:-27000}
    lock_port=${REDIS_LOCK_PORT:-$((redis_port + 10))}
    cluster_ports=() lock_ports=()
    for i in 0 1 2 3 4 5; do cluster_ports+=($((redis_port + i))); done
    for i in 0 1 2; do lock_ports+=($((lock_port + i))); done
    replica_ports=($((pg_port + 1)) $((pg_port + 2))) ;;
  *) echo "services.sh: unknown profile '$profile' (dev|test|bench|cluster)" >&2; exit 2 ;;
esac
base="$root/.local/$profile"
pg_bin=$(ls -d /usr/lib/postgresql/15/bin 2>/dev/null || true)
pg_user=postgres
if [ "$(id -u)" != 0 ]; then pg_user=$(id -un); fi
redis_dir="$base/redis"
redis_pid="$redis_dir/redis.pid"

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u "$pg_user" -- "$@"; else "$@"; fi
}

psql_at() {  # PORT SQL: one query as the emporium superuser, unaligned output
  psql -h 127.0.0.1 -p "$1" -U emporium -d postgres -XAtqc "$2"
}

# A PostgreSQL data directory, .local/<profile>/NAME (pg, pg-replica1, ...), created if missing.
# It must be writable by the postgres user. If the checkout lives somewhere that user cannot
# reach (e.g. a private temp dir), keep the data in /var/tmp and link it from .local.
pg_data_dir() {  # [NAME]
  local name=${1:-pg}
  local want="$base/$name"
  if [ -L "$want" ]; then readlink "$want"; return; fi
  mkdir -p "$base"
  if [ "$(id -u)" = 0 ]; then
    if runuser -u "$pg_user" -- test -x "$base" 2>/dev/null && runuser -u "$pg_user" -- test -r "$base"; then
      mkdir -p "$want"; chown "$pg_user" "$want"; chmod 700 "$want"; echo "$want"; return
    fi
    local alt
    alt="/var/tmp/emporium-$(echo -n "$base" | sha1sum | cut -c1-12)"
    [ "$name" = pg ] || alt+="-$name"
    mkdir -p "$alt"; chown "$pg_user" "$alt"; chmod 700 "$alt"
    ln -sfn "$alt" "$want"; echo "$alt"; return
  fi
  mkdir -p "$want"; chmod 700 "$want"; echo "$want"
}

# The data directory's path, without creating anything.
pg_data_path() { readlink -f "$base/${1:-pg}" 2>/dev/null || echo "$base/${1:-pg}"; }

pg_is_running() { [ -f "$1/PG_VERSION" ] && as_pg "$pg_bin/pg_ctl" -D "$1" status >/dev/null 2>&1; }

pg_start() {  # DATA PORT
  pg_is_running "$1" && return
  as_pg "$pg_bin/pg_ctl" -D "$1" -l "$1/server.log" -w -t 60 -o "-p $2" start >/dev/null \
    || { tail -20 "$1/server.log" >&2; exit 1; }
}

pg_stop() {  # NAME [MODE]: stop the server of .local/<profile>/NAME (its postmaster.pid)
  local data="$base/$1"
  [ -e "$data" ] || return 0
  data=$(readlink -f "$data")
  [ -f "$data/postmaster.pid" ] || return 0
  as_pg "$pg_bin/pg_ctl" -D "$data" -m "${2:-fast}" -w stop >/dev/null 2>&1 || true
}

start_pg() {  # the profile's server (the cluster's primary)
  [ -n "$pg_bin" ] || { echo "PostgreSQL 15 is not installed (run scripts/deps.sh)" >&2; exit 1; }
  local data; data=$(pg_data_dir pg)
  if [ ! -f "$data/PG_VERSION" ]; then
    local nosync=()
    [ "$profile" = cluster ] && nosync=(--no-sync)  # disposable (fsync off): seconds saved
    as_pg "$pg_bin/initdb" -D "$data" -U emporium --auth=trust -E UTF8 --no-locale ${nosync[@]+"${nosync[@]}"} \
      >"$base/initdb.log" 2>&1 \
      || { cat "$base/initdb.log" >&2; exit 1; }
    {
      echo "listen_addresses = '127.0.0.1'"
      echo "port = $pg_port"
      echo "unix_socket_directories = '$data'"
      echo "max_connections = 300"
      if [ "$profile" = cluster ]; then echo "shared_buffers = 128MB"; else echo "shared_buffers = 256MB"; fi
      echo "timezone = 'UTC'"
      echo "log_timezone = 'UTC'"
      if [ "$profile" = test ]; then
        # Test data is disposable: trade durability for speed.
        echo "fsync = off"; echo "synchronous_commit = off"; echo "full_page_writes = off"
      fi
      if [ "$profile" = cluster ]; then
        # Disposable too, but a primary killed by a failover test must keep every commit it
        # acknowledged (to the OS, which survives the kill): synchronous_commit stays on.
        echo "fsync = off"; echo "full_page_writes = off"
        # Streaming replication. These lines reach the replicas with pg_basebackup, where
        # hot_standby and hot_standby_feedback apply (the replicas' queries are not cancelled by
        # the primary's vacuum) and a lost primary is retried every second.
        echo "wal_level = replica"
        echo "max_wal_senders = 10"
        echo "max_replication_slots = 10"
        # The two base backups run at once, each with its checkpoint: without a reserve, one's
        # checkpoint may recycle a segment the other is about to stream (before its slot holds it).
        echo "wal_keep_size = '64MB'"
        echo "hot_standby = on"
        echo "hot_standby_feedback = on"
        echo "wal_retrieve_retry_interval = '1s'"
        echo "cluster_name = 'emporium-primary'"
      fi
    } >>"$data/postgresql.conf"
  fi
  pg_start "$data" "$pg_port"
  if [ "$profile" != test ]; then
    if ! psql_at "$pg_port" "SELECT 1 FROM pg_database WHERE datname='emporium'" | grep -q 1; then
      psql_at "$pg_port" "CREATE DATABASE emporium" >/dev/null
    fi
  fi
}

# Replica N (1 or 2) of the cluster profile: made from the primary the first time, with its slot.
start_pg_replica() {  # N
  local n=$1 port=${replica_ports[$(($1 - 1))]} slot="replica$1"
  local data; data=$(pg_data_dir "pg-replica$n")
  if [ ! -f "$data/PG_VERSION" ]; then
    # A slot left by an earlier copy of this replica would hold WAL for nothing: start afresh.
    psql_at "$pg_port" "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
                        WHERE slot_name = '$slot' AND NOT active" >/dev/null
    as_pg "$pg_bin/pg_basebackup" -h 127.0.0.1 -p "$pg_port" -U emporium -D "$data" -R -X stream \
      -C -S "$slot" -c fast --no-sync >"$base/pg-replica$n-basebackup.log" 2>&1 \
      || { cat "$base/pg-replica$n-basebackup.log" >&2; exit 1; }
    : >"$data/server.log"  # the copy of the primary's log
    {
      echo "port = $port"
      echo "unix_socket_directories = '$data'"
      echo "cluster_name = 'emporium-replica$n'"  # its application_name in pg_stat_replication
    } >>"$data/postgresql.conf"
  fi
  pg_start "$data" "$port"
}

# Replica N is still a standby, and replays (`start cluster` resumes a replay a test paused).
resume_pg_replica() {  # N
  local port=${replica_ports[$(($1 - 1))]}
  if [ "$(psql_at "$port" "SELECT pg_is_in_recovery()")" != t ]; then
    echo "PostgreSQL replica on $port was promoted: rebuild with 'scripts/services.sh reset cluster'" >&2; exit 1
  fi
  psql_at "$port" "SELECT pg_wal_replay_resume() WHERE pg_is_wal_replay_paused()" >/dev/null
}

pg_replica_paused() {  # N
  [ "$(psql_at "${replica_ports[$(($1 - 1))]}" "SELECT pg_is_wal_replay_paused()" 2>/dev/null)" = t ]
}

# Waits until replica N streams from the primary (a paused replay still streams, but does not
# reconnect to a primary that restarted until it is resumed).
wait_pg_replica() {  # N
  local n=$1 port=${replica_ports[$(($1 - 1))]}
  for _ in $(seq 1 300); do
    [ "$(psql_at "$pg_port" "SELECT count(*) FROM pg_stat_replication
                             WHERE application_name = 'emporium-replica$n' AND state = 'streaming'")" = 1 ] && return
    sleep 0.1
  done
  echo "PostgreSQL replica on $port is not streaming; see $(pg_data_path "pg-replica$n")/server.log" >&2; exit 1
}

# A process runs: it exists and is not a zombie (a daemon killed by a test stays one until init
# reaps it, which may take a while).
pid_alive() {  # PID
  kill -0 "$1" 2>/dev/null || return 1
  local stat; stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
  stat=${stat##*) }
  [ "${stat%% *}" != Z ]
}

# The pid of the Redis server a pid file names, if it still runs (not a recycled pid).
redis_pid_of() {  # PIDFILE
  [ -f "$1" ] || return 1
  local pid; pid=$(cat "$1")
  pid_alive "$pid" || return 1
  if [ -r "/proc/$pid/comm" ] && [ "$(cat "/proc/$pid/comm")" != redis-server ]; then return 1; fi
  echo "$pid"
}

# One redis-server, daemonized, with its pid file, log and data in DIR; nothing if it runs.
start_redis_node() {  # DIR PORT [redis-server options...]
  local dir=$1 port=$2; shift 2
  mkdir -p "$dir"
  redis_pid_of "$dir/redis.pid" >/dev/null && return
  redis-server --bind 127.0.0.1 --port "$port" --daemonize yes --pidfile "$dir/redis.pid" \
    --dir "$dir" --logfile "$dir/redis.log" --protected-mode yes "$@" >/dev/null
}

# Waits until the server started in DIR runs (its pid file names a live process, written once it
# listens) and answers on PORT; `timeout`: something else on the port may accept and never answer.
wait_redis_ping() {  # PORT DIR
  for _ in $(seq 1 100); do
    if redis_pid_of "$2/redis.pid" >/dev/null &&
       [ "$(timeout 2 redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" = PONG ]; then return; fi
    sleep 0.1
  done
  echo "Redis did not start on port $1; $2/redis.log says:" >&2; tail -3 "$2/redis.log" >&2; exit 1
}

stop_redis_pids() {  # PIDFILE... [-KILL]: signal them all, then wait for each
  local sig=TERM pids=() f pid
  for f in "$@"; do [ "$f" = -KILL ] && sig=KILL; done
  for f in "$@"; do
    [ "$f" = -KILL ] && continue
    if pid=$(redis_pid_of "$f"); then kill "-$sig" "$pid"; pids+=("$pid"); fi
  done
  for pid in ${pids[@]+"${pids[@]}"}; do
    for _ in $(seq 1 100); do pid_alive "$pid" || break; sleep 0.1; done
  done
  for f in "$@"; do [ "$f" = -KILL ] || redis_pid_of "$f" >/dev/null || rm -f "$f"; done
}

start_redis() {
  local persist=(--appendonly yes)
  [ "$profile" = test ] && persist=(--appendonly no --save "")
  start_redis_node "$redis_dir" "$redis_port" "${persist[@]}"
  wait_redis_ping "$redis_port" "$redis_dir"
}

stop_redis() { stop_redis_pids "$redis_pid"; }

# --- cluster profile: Redis ---

cluster_node_dir() { echo "$base/redis/$1"; }
lock_node_dir() { echo "$base/redis-lock/$1"; }

# A cluster node's settings, the same at every start: its nodes.conf keeps its identity and role.
start_cluster_node() {  # PORT
  start_redis_node "$(cluster_node_dir "$1")" "$1" --cluster-enabled yes --cluster-config-file nodes.conf \
    --cluster-node-timeout 2000 --cluster-port $(($1 + 100)) --repl-diskless-sync-delay 0 \
    --appendonly yes --appendfsync everysec --save ""
}

start_lock_node() {  # PORT
  start_redis_node "$(lock_node_dir "$1")" "$1" --appendonly yes --appendfsync everysec --save ""
}

cluster_info() { redis-cli -h 127.0.0.1 -p "$1" cluster info 2>/dev/null | tr -d '\r'; }

# A node is part of a whole cluster: it sees state ok and every node, another live node sees it
# with the role it has itself and without a failure flag (a master killed by a test and started
# again believes it is still a master until the others tell it otherwise), and a replica's link to
# its master is up (so that it can take over at once).
cluster_node_ok() {  # PORT
  local port=$1 info role other flags=
  info=$(cluster_info "$port")
  grep -qx 'cluster_state:ok' <<<"$info" || return 1
  grep -qx "cluster_known_nodes:${#cluster_ports[@]}" <<<"$info" || return 1
  info=$(redis-cli -h 127.0.0.1 -p "$port" info replication 2>/dev/null | tr -d '\r')
  role=$(sed -n 's/^role://p' <<<"$info")
  [ "$role" = master ] || grep -qx 'master_link_status:up' <<<"$info" || return 1
  for other in "${cluster_ports[@]}"; do
    [ "$other" != "$port" ] || continue
    flags=$(redis-cli -h 127.0.0.1 -p "$other" cluster nodes 2>/dev/null |
            awk -v a="127.0.0.1:$port@" 'index($2, a) == 1 { print $3 }') && [ -n "$flags" ] && break
  done
  [ "$flags" = "$role" ]
}

wait_cluster_node() {  # PORT
  for _ in $(seq 1 300); do cluster_node_ok "$1" && return; sleep 0.1; done
  echo "Redis cluster node $1 is not part of a healthy cluster after 30 s (see $(cluster_node_dir "$1")/redis.log;" \
       "'scripts/services.sh reset cluster' rebuilds it)" >&2
  exit 1
}

start_redis_cluster() {
  local p fresh=0
  for p in "${cluster_ports[@]}"; do start_cluster_node "$p"; done
  for p in "${lock_ports[@]}"; do start_lock_node "$p"; done
  for p in "${cluster_ports[@]}"; do wait_redis_ping "$p" "$(cluster_node_dir "$p")"; done
  for p in "${lock_ports[@]}"; do wait_redis_ping "$p" "$(lock_node_dir "$p")"; done
  # Made the first time only: every node alone, no slot assigned.
  for p in "${cluster_ports[@]}"; do
    if grep -qx 'cluster_known_nodes:1' <<<"$(cluster_info "$p")"; then fresh=$((fresh + 1)); fi
  done
  if [ "$fresh" = "${#cluster_ports[@]}" ]; then
    local addrs=()
    for p in "${cluster_ports[@]}"; do addrs+=("127.0.0.1:$p"); done
    redis-cli --cluster create "${addrs[@]}" --cluster-replicas 1 --cluster-yes >"$base/redis/create.log" 2>&1 \
      || { cat "$base/redis/create.log" >&2; exit 1; }
  elif [ "$fresh" != 0 ]; then
    echo "Redis cluster: $fresh of ${#cluster_ports[@]} nodes lost their nodes.conf; rebuild with" \
         "'scripts/services.sh reset cluster'" >&2
    exit 1
  fi
  for p in "${cluster_ports[@]}"; do wait_cluster_node "$p"; done
}

cluster_pidfiles() { local p; for p in "${cluster_ports[@]}"; do echo "$(cluster_node_dir "$p")/redis.pid"; done; }
lock_pidfiles() { local p; for p in "${lock_ports[@]}"; do echo "$(lock_node_dir "$p")/redis.pid"; done; }

# The Redis cluster forms while the replicas are copied and started (each its own process).
start_cluster() {
  local jobs=() job rc=0
  start_pg
  start_redis_cluster & jobs+=($!)
  start_pg_replica 1 & jobs+=($!)
  start_pg_replica 2 & jobs+=($!)
  for job in "${jobs[@]}"; do wait "$job" || rc=1; done
  [ "$rc" = 0 ] || exit 1
  resume_pg_replica 1; resume_pg_replica 2
  wait_pg_replica 1; wait_pg_replica 2
}

stop_cluster() {
  local files
  pg_stop pg-replica2; pg_stop pg-replica1; pg_stop pg
  mapfile -t files < <(cluster_pidfiles; lock_pidfiles)
  stop_redis_pids "${files[@]}"
}

# The node that listens on PORT, as "redis DIR", "lock DIR", "pg NAME" or "replica N".
node_of_port() {  # PORT
  local p=$1 i
  for i in "${cluster_ports[@]}"; do [ "$i" = "$p" ] && { echo "redis $(cluster_node_dir "$p")"; return; }; done
  for i in "${lock_ports[@]}"; do [ "$i" = "$p" ] && { echo "lock $(lock_node_dir "$p")"; return; }; done
  [ "$p" = "$pg_port" ] && { echo "pg pg"; return; }
  [ "$p" = "${replica_ports[0]}" ] && { echo "replica 1"; return; }
  [ "$p" = "${replica_ports[1]}" ] && { echo "replica 2"; return; }
  echo "services.sh: no node of the cluster profile listens on port '$p'" >&2; exit 2
}

stop_node() {  # PORT [kill]
  local kind what hard=${2:-}
  read -r kind what <<<"$(node_of_port "$1")"
  [ -n "$kind" ] || exit 2
  case "$hard" in ''|kill) ;; *) echo "services.sh: stop-node: expected 'kill' or nothing, got '$hard'" >&2; exit 2 ;; esac
  case "$kind" in
    redis|lock) if [ "$hard" = kill ]; then stop_redis_pids "$what/redis.pid" -KILL; else stop_redis_pids "$what/redis.pid"; fi ;;
    pg) pg_stop pg "$([ "$hard" = kill ] && echo immediate || echo fast)" ;;
    replica) pg_stop "pg-replica$what" "$([ "$hard" = kill ] && echo immediate || echo fast)" ;;
  esac
}

start_node() {  # PORT
  local kind what n
  read -r kind what <<<"$(node_of_port "$1")"
  [ -n "$kind" ] || exit 2
  case "$kind" in
    redis) start_cluster_node "$1"; wait_redis_ping "$1" "$what"; wait_cluster_node "$1" ;;
    lock) start_lock_node "$1"; wait_redis_ping "$1" "$what" ;;
    pg)
      start_pg
      for n in 1 2; do
        if pg_is_running "$(pg_data_path "pg-replica$n")" && ! pg_replica_paused "$n"; then wait_pg_replica "$n"; fi
      done ;;
    replica)
      start_pg_replica "$what"
      if pg_is_running "$(pg_data_path pg)"; then wait_pg_replica "$what"; fi ;;
  esac
}

status_cluster() {
  local ok=0 p n role state
  if pg_is_running "$(pg_data_path pg)"; then
    echo "postgres primary: running on $pg_port"
  else
    echo "postgres primary: stopped"; ok=1
  fi
  for n in 1 2; do
    p=${replica_ports[$((n - 1))]}
    if pg_is_running "$(pg_data_path "pg-replica$n")"; then
      state=$(psql_at "$pg_port" "SELECT state FROM pg_stat_replication WHERE application_name = 'emporium-replica$n'" 2>/dev/null || true)
      [ "$state" = streaming ] || ok=1
      state=${state:-not connected}
      if pg_replica_paused "$n"; then state+=", replay paused"; fi
      echo "postgres replica$n: running on $p ($state)"
    else
      echo "postgres replica$n: stopped"; ok=1
    fi
  done
  for p in "${cluster_ports[@]}"; do
    if redis_pid_of "$(cluster_node_dir "$p")/redis.pid" >/dev/null; then
      role=$(redis-cli -h 127.0.0.1 -p "$p" role 2>/dev/null | head -1 | tr -d '\r')
      state=$(cluster_info "$p" | sed -n 's/^cluster_state://p')
      [ "$state" = ok ] || ok=1
      echo "redis cluster node: running on $p (${role:-?}, cluster_state ${state:-?})"
    else
      echo "redis cluster node: stopped ($p)"; ok=1
    fi
  done
  for p in "${lock_ports[@]}"; do
    if redis_pid_of "$(lock_node_dir "$p")/redis.pid" >/dev/null; then
      echo "redis lock master: running on $p"
    else
      echo "redis lock master: stopped ($p)"; ok=1
    fi
  done
  return "$ok"
}

print_cluster_env() {
  local seeds=() locks=() pidfiles p
  mapfile -t pidfiles < <(cluster_pidfiles)
  for p in "${cluster_ports[@]}"; do seeds+=("127.0.0.1:$p"); done
  for p in "${lock_ports[@]}"; do locks+=("redis://127.0.0.1:$p"); done
  join() { local IFS=,; echo "$*"; }
  local pg_url="postgresql://emporium@127.0.0.1"
  # The application (make run CLUSTER=1).
  echo "export REDIS_URL=redis+cluster://$(join "${seeds[@]}")"
  echo "export REDIS_LOCK_URLS=$(join "${locks[@]}")"
  echo "export JOBS_ENQUEUE_REPLICA_ACKS=1"
  echo "export DATABASE_URL=$pg_url:$pg_port/emporium"
  echo "export DATABASE_REPLICA_URLS=$pg_url:${replica_ports[0]}/emporium,$pg_url:${replica_ports[1]}/emporium"
  # The tests labelled `cluster`: server addresses (databases: the maintenance one, as for
  # EMPORIUM_TEST_DATABASE_URL), and what a failover test needs to stop and start nodes.
  echo "export EMPORIUM_CLUSTER_REDIS_URL=redis+cluster://$(join "${seeds[@]}")"
  echo "export EMPORIUM_CLUSTER_REDIS_LOCK_URLS=$(join "${locks[@]}")"
  echo "export EMPORIUM_CLUSTER_DATABASE_URL=$pg_url:$pg_port/postgres"
  echo "export EMPORIUM_CLUSTER_REPLICA_URLS=$pg_url:${replica_ports[0]}/postgres,$pg_url:${replica_ports[1]}/postgres"
  echo "export EMPORIUM_CLUSTER_REDIS_PORTS=$(join "${cluster_ports[@]}")"
  echo "export EMPORIUM_CLUSTER_REDIS_PIDFILES=$(join "${pidfiles[@]}")"
  echo "export EMPORIUM_CLUSTER_REDIS_LOCK_PORTS=$(join "${lock_ports[@]}")"
  echo "export EMPORIUM_CLUSTER_PG_PORT=$pg_port"
  echo "export EMPORIUM_CLUSTER_PG_REPLICA_PORTS=$(join "${replica_ports[@]}")"
  echo "export EMPORIUM_CLUSTER_PG_DATA=$(pg_data_path pg)"
  echo "export EMPORIUM_CLUSTER_PG_REPLICA_DATA=$(pg_data_path pg-replica1),$(pg_data_path pg-replica2)"
  echo "export EMPORIUM_CLUSTER_SERVICES=$root/scripts/services.sh"
}

print_env() {
  if [ "$profile" = cluster ]; then print_cluster_env; return; fi
  if [ "$profile" = test ] || [ "$profile" = bench ]; then
    echo "export EMPORIUM_TEST_DATABASE_URL=postgresql://emporium@127.0.0.1:$pg_port/postgres"
    echo "export EMPORIUM_TEST_REDIS_URL=redis://127.0.0.1:$redis_port"
    echo "export EMPORIUM_TEST_PG_DATA=$(pg_data_path pg)"
    echo "export EMPORIUM_TEST_PG_PORT=$pg_port"
    echo "export EMPORIUM_TEST_REDIS_PORT=$redis_port"
    echo "export EMPORIUM_TEST_REDIS_PIDFILE=$redis_pid"
  else
    echo "export DATABASE_URL=postgresql://emporium@127.0.0.1:$pg_port/emporium"
    echo "export REDIS_URL=redis://127.0.0.1:$redis_port/0"
  fi
}

# `reset` is refused while `make run CLUSTER=1` runs on the profile (its pid files live there).
reset_profile_check() {
  local f
  for f in "$base"/run/*.pid; do
    if [ -e "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null; then
      echo "services.sh: the shop runs on the $profile profile ($f): 'make stop' first" >&2; exit 1
    fi
  done
}

# Deletes the profile's data, including the /var/tmp directories its links point to.
reset_profile() {
  local link target
  for link in "$base"/pg*; do
    [ -L "$link" ] || continue
    target=$(readlink "$link")
    case "$target" in /var/tmp/emporium-*) rm -rf "$target" ;; esac
  done
  rm -rf "$base"
}

need_cluster() { [ "$profile" = cluster ] || { echo "services.sh: $cmd is for the cluster profile" >&2; exit 2; }; }

case "$cmd" in
  start) if [ "$profile" = cluster ]; then start_cluster; else start_pg; start_redis; fi ;;
  stop) if [ "$profile" = cluster ]; then stop_cluster; else stop_redis; pg_stop pg; fi ;;
  reset) need_cluster; reset_profile_check; stop_cluster; reset_profile ;;
  env) print_env ;;
  status)
    if [ "$profile" = cluster ]; then status_cluster; exit; fi
    if pg_is_running "$(pg_data_path pg)"; then echo "postgres: running on $pg_port"; else echo "postgres: stopped"; fi
    if redis_pid_of "$redis_pid" >/dev/null; then echo "redis: running on $redis_port"; else echo "redis: stopped"; fi ;;
  stop-node) need_cluster; stop_node "${3:?usage: $0 stop-node cluster PORT [kill]}" "${4:-}" ;;
  start-node) need_cluster; start_node "${3:?usage: $0 start-node cluster PORT}" ;;
  *) echo "usage: $0 start|stop|env|status [dev|test|bench|cluster]; reset|stop-node|start-node cluster [PORT]" >&2; exit 2 ;;
esac
