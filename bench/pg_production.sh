#!/usr/bin/env bash
# A project-local PostgreSQL 15 with bench/postgresql.production.conf, for the benchmarks'
# "production server" figures: bench/pg_production.sh start|stop|url
#   DATABASE_URL=$(bench/pg_production.sh url)/rd_bench_m1m .venv/bin/python bench/nightly.py --shape migration ...
# Its data lives in /var/tmp/renewal-desk-bench-pg (postgres refuses to run as root, and the
# postgres user must reach the directory); port 54399. Nothing else uses it.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PGDIR=/var/tmp/renewal-desk-bench-pg
PORT=54399
PGBIN="$(ls -d /usr/lib/postgresql/15/bin 2>/dev/null || ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)"
RUN_AS=()
[ "$(id -u)" -eq 0 ] && RUN_AS=(runuser -u postgres --)
case "${1:-}" in
  start)
    if [ ! -f "$PGDIR/PG_VERSION" ]; then
      mkdir -p "$PGDIR"; [ "$(id -u)" -eq 0 ] && chown postgres: "$PGDIR"
      "${RUN_AS[@]}" "$PGBIN/initdb" -D "$PGDIR" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >/dev/null
    fi
    install -m 644 "$ROOT/bench/postgresql.production.conf" "$PGDIR/production.conf"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$PGDIR/production.conf"
    grep -q "^include = 'production.conf'" "$PGDIR/postgresql.conf" || echo "include = 'production.conf'" >> "$PGDIR/postgresql.conf"
    if ! pg_isready -q -h 127.0.0.1 -p "$PORT"; then
      "${RUN_AS[@]}" "$PGBIN/pg_ctl" -D "$PGDIR" -l "$PGDIR/server.log" -w \
        -o "-p $PORT -k $PGDIR -c listen_addresses=127.0.0.1" start >/dev/null
    fi
    psql -q -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -Atc \
      "DO \$\$BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'root') THEN CREATE ROLE root SUPERUSER LOGIN; END IF; END\$\$"
    ;;
  stop)
    "${RUN_AS[@]}" "$PGBIN/pg_ctl" -D "$PGDIR" -m fast stop >/dev/null || true ;;
  url)
    echo "postgres://root@127.0.0.1:$PORT" ;;
  *)
    echo "usage: $0 start|stop|url" >&2; exit 2 ;;
esac
