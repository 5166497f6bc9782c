#!/usr/bin/env bash
# ensure-postgres.sh makes sure a PostgreSQL server answers on 127.0.0.1:5432
# and lets user postgres in without a password from loopback, creates the
# fhirbell_test database, and prints its URL (the value for
# FHIRBELL_TEST_DATABASE_URL) on stdout. Progress goes to stderr.
#
# In order: use a server that already answers; start an installed but
# stopped Debian cluster; install PostgreSQL from Debian's archive (needs
# root) and open loopback to user postgres with trust auth (a test machine
# only; never run this on a server that holds real data).
set -euo pipefail

PGPORT=5432
db=fhirbell_test
url_admin="postgres://postgres@127.0.0.1:${PGPORT}/postgres?sslmode=disable"
log() { echo "ensure-postgres: $*" >&2; }

answers() { command -v pg_isready >/dev/null && pg_isready -h 127.0.0.1 -p "$PGPORT" -q; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else log "need root for: $*"; return 1; fi; }

start_clusters() {
	command -v pg_lsclusters >/dev/null || return 1
	local started=1
	while read -r ver name port status _; do
		[ "$port" = "$PGPORT" ] || continue
		if [ "$status" != online ]; then
			log "starting cluster $ver/$name"
			as_root pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" start || true
		fi
		started=0
	done < <(pg_lsclusters -h 2>/dev/null)
	return $started
}

install_postgres() {
	log "installing postgresql from Debian's archive"
	export DEBIAN_FRONTEND=noninteractive
	as_root apt-get update -qq >&2
	as_root apt-get install -y -qq postgresql >&2
	# Trust loopback connections for the test user: put the rule first so it
	# wins over Debian's default scram rule.
	for hba in /etc/postgresql/*/main/pg_hba.conf; do
		if ! grep -q '^host all postgres 127.0.0.1/32 trust' "$hba"; then
			as_root sed -i '1i host all postgres 127.0.0.1/32 trust\nhost all postgres ::1/128 trust' "$hba"
		fi
	done
	start_clusters || true
	for ver in $(ls /etc/postgresql); do as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main reload || true; done
}

if ! answers; then
	start_clusters || install_postgres
	for _ in $(seq 1 30); do answers && break; sleep 1; done
fi
answers || { log "PostgreSQL does not answer on 127.0.0.1:${PGPORT}"; exit 1; }

if ! psql "$url_admin" -qAtc 'select 1' >/dev/null; then
	log "cannot log in as postgres without a password on 127.0.0.1:${PGPORT}; set FHIRBELL_TEST_DATABASE_URL yourself"
	exit 1
fi
if [ "$(psql "$url_admin" -qAtc "select 1 from pg_database where datname = '$db'")" != 1 ]; then
	psql "$url_admin" -qc "create database $db" >&2 || true # a concurrent run may have created it
fi
echo "postgres://postgres@127.0.0.1:${PGPORT}/${db}?sslmode=disable"
