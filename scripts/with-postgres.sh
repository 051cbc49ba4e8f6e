#!/usr/bin/env bash
# with-postgres.sh COMMAND [ARGS...]: runs COMMAND against a throw-away PostgreSQL cluster on a free loopback
# port, with PORTAL_LINKS_TEST_POSTGRES=postgres://portal@127.0.0.1:PORT/portal_links in its environment
# (and PORTAL_LINKS_TEST_POSTGRES_CTL, a command taking start|stop|restart, for tests that stop the server),
# then stops the cluster and removes it. Installs Debian's postgresql package when missing.
set -euo pipefail
sudo=$([ "$(id -u)" = 0 ] || echo sudo)
if ! ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; then
    $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >/dev/null
fi
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
work=$(mktemp -d /tmp/portal-links-postgres.XXXXXX)
chmod 755 "$work"
# PostgreSQL refuses to run as root: as root, the cluster belongs to the postgres user.
as_owner=()
if [ "$(id -u)" = 0 ]; then
    chown postgres "$work"
    as_owner=(runuser -u postgres --)
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
ctl="$work/ctl"
cat > "$ctl" <<CTL
#!/usr/bin/env bash
# start | stop | restart the throw-away cluster (fast shutdown: connections are cut, as in a crash or failover).
exec ${as_owner[*]} "$bin/pg_ctl" -D "$work/data" -l "$work/server.log" -w -m fast \
    -o "-p $port -k $work -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" "\$1"
CTL
chmod 755 "$ctl"
cleanup() {
    "$ctl" stop >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
"${as_owner[@]}" "$bin/initdb" -D "$work/data" -A trust -U portal -E UTF8 --no-sync >/dev/null
"$ctl" start >/dev/null
"${as_owner[@]}" "$bin/createdb" -h 127.0.0.1 -p "$port" -U portal portal_links
export PORTAL_LINKS_TEST_POSTGRES="postgres://portal@127.0.0.1:$port/portal_links"
export PORTAL_LINKS_TEST_POSTGRES_CTL="$ctl"
"$@"
