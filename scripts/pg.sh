# Sourced by the scripts: pg_start starts a private PostgreSQL cluster in a
# temp dir, listening on 127.0.0.1 only, and exports PG_URL; pg_stop stops it
# (by its own data directory) and removes it; pg_restart [SECONDS] restarts
# it in place (same port and data: the fault tests' database restart),
# staying down SECONDS (default 0) in between.
pg_start() {
  local bin
  # Tests trade durability for speed; PG_DURABLE=1 keeps PostgreSQL's
  # defaults (fsync, synchronous_commit), as the benchmark does.
  PG_DURABILITY="-c fsync=off -c synchronous_commit=off"
  [ "${PG_DURABLE:-0}" = 1 ] && PG_DURABILITY=""
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  PG_DIR=$(mktemp -d /tmp/portcullis-pg.XXXXXX)
  PG_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  PG_RUN=()
  # initdb refuses to run as root: run the server as the postgres user.
  if [ "$(id -u)" -eq 0 ]; then chown postgres "$PG_DIR"; PG_RUN=(runuser -u postgres --); fi
  "${PG_RUN[@]}" "$bin/initdb" -D "$PG_DIR/data" -U postgres --auth=trust -E UTF8 >"$PG_DIR/initdb.log" 2>&1
  PG_OPTS="-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_DIR $PG_DURABILITY -c max_connections=300"
  "${PG_RUN[@]}" "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -o "$PG_OPTS" start >/dev/null
  PG_CTL="$bin/pg_ctl"
  export PG_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
  echo "==> PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$PG_PORT"
}

pg_stop() {
  if [ -n "${PG_DIR:-}" ] && [ -d "$PG_DIR/data" ]; then
    "${PG_RUN[@]}" "$PG_CTL" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
  fi
}

pg_restart() {
  local down=${1:-0}
  "${PG_RUN[@]}" "$PG_CTL" -D "$PG_DIR/data" -m fast -w stop >/dev/null
  [ "$down" = 0 ] || sleep "$down"
  "${PG_RUN[@]}" "$PG_CTL" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -o "$PG_OPTS" start >/dev/null
}
