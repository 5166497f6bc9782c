#!/usr/bin/env bash
# ensure-postgres.sh makes sure a PostgreSQL server answers on 127.0.0.1:5432
# and lets user postgres in without a password from loopback, creates the
# fhirbell_test database if it is missing, and prints its URL (the value for
# FHIRBELL_TEST_DATABASE_URL) on stdout. Progress goes to stderr.
#
# Without changing the machine it only uses a server that already answers
# (and creates fhirbell_test in it). Changing the machine is opt-in: with
# FHIRBELL_SETUP_POSTGRES=1, or CI=true (the CI runs on a throwaway machine),
# it also
#   1. starts an installed but stopped Debian cluster on port 5432
#      (pg_ctlcluster), and otherwise
#   2. installs the postgresql package from Debian's archive (apt-get), and
#      adds two lines at the top of each /etc/postgresql/*/main/pg_hba.conf
#      that let user postgres in from 127.0.0.1 and ::1 without a password
#      (trust), then reloads the cluster.
# Both need root: as root they run directly, otherwise through sudo. The
# trust rule is for a test machine only; never opt in on a server that holds
# real data.
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

may_change_machine() { [ "${FHIRBELL_SETUP_POSTGRES:-}" = 1 ] || [ "${CI:-}" = true ]; }

if ! answers; then
	if ! may_change_machine; then
		log "no PostgreSQL answers on 127.0.0.1:${PGPORT}. Either start one that lets user postgres in"
		log "from loopback without a password, or set FHIRBELL_TEST_DATABASE_URL to a database the tests"
		log "may create schemas in, or run 'make test-mem' (in-memory store only), or let this script set"
		log "one up: FHIRBELL_SETUP_POSTGRES=1 make test starts an installed Debian cluster, or installs"
		log "PostgreSQL from Debian's archive and adds a passwordless loopback rule for user postgres to"
		log "pg_hba.conf (as root, or with sudo). See scripts/ensure-postgres.sh."
		exit 1
	fi
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
