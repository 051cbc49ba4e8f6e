#!/usr/bin/env bash
# with-postgres.sh COMMAND [ARGS...]: runs COMMAND against a throw-away PostgreSQL cluster on a free loopback
# port, with PORTAL_LINKS_TEST_POSTGRES=postgres://portal@127.0.0.1:PORT/portal_links?sslmode=disable in its environment
# (and PORTAL_LINKS_TEST_POSTGRES_CTL, a command taking start|stop|restart, for tests that stop the server),
# then stops the cluster and removes it. The server also speaks TLS, with a certificate for 127.0.0.1 from a CA
# made here (PORTAL_LINKS_TEST_POSTGRES_CA, the CA's PEM file), so that sslmode=verify-full is tried for real; it
# listens on 127.0.0.2 as well, an address its certificate does not name.
# Installs Debian's postgresql and openssl packages when missing.
set -euo pipefail
"$(dirname "$0")/apt-install-missing.sh" postgresql openssl
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
work=$(mktemp -d /tmp/portal-links-postgres.XXXXXX)
chmod 755 "$work"
(
    cd "$work"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=portal-links-test-ca \
        -keyout ca.key -out ca.pem 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=127.0.0.1 \
        -keyout server.key -out server.csr 2>/dev/null
    echo "subjectAltName=IP:127.0.0.1" > server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile server.ext \
        -out server.pem 2>/dev/null
    chmod 600 server.key ca.key
)
# PostgreSQL refuses to run as root: as root, the cluster belongs to the postgres user.
as_owner=()
if [ "$(id -u)" = 0 ]; then
    chown postgres "$work" "$work/server.key"
    as_owner=(runuser -u postgres --)
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
ctl="$work/ctl"
cat > "$ctl" <<CTL
#!/usr/bin/env bash
# start | stop | restart the throw-away cluster (fast shutdown: connections are cut, as in a crash or failover).
exec ${as_owner[*]} "$bin/pg_ctl" -D "$work/data" -l "$work/server.log" -w -m fast \
    -o "-p $port -k $work -c listen_addresses=127.0.0.1,127.0.0.2 -c fsync=off -c max_connections=200 \
    -c ssl=on -c ssl_cert_file=$work/server.pem -c ssl_key_file=$work/server.key" "\$1"
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
# Plain connections for the suites, as before the server spoke TLS; the TLS test asks for it by its own URLs.
export PORTAL_LINKS_TEST_POSTGRES="postgres://portal@127.0.0.1:$port/portal_links?sslmode=disable"
export PORTAL_LINKS_TEST_POSTGRES_CTL="$ctl"
export PORTAL_LINKS_TEST_POSTGRES_CA="$work/ca.pem"
"$@"
