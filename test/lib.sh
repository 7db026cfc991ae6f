# test/lib.sh - helpers shared by test/run, test/demo and bench/run (sourced, not run).
#
# They build the extension, install it into a private copy of the PostgreSQL
# tree, start a throwaway cluster and a moto S3 server on random loopback
# ports, and tear everything down again.  Everything lives under one
# temporary directory ($OQ_TMP), so several checkouts can test at once and a
# run never touches the system's PostgreSQL directories.
#
# The caller sets "set -euo pipefail" and calls oq_init first.

OQ_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Pin the major version: /usr/bin/pg_config is Debian's wrapper, which picks
# the newest installed version.
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
export PG_CONFIG
OQ_TEST_REGION=${OQ_TEST_REGION:-us-east-1}

OQ_TMP=
OQ_KEEP=0
# the database "--keep" tells users to connect to (test/demo: oq_demo)
OQ_KEEP_DB=contrib_regression
OQ_VALGRIND=0
OQ_PG_STARTED=0
OQ_MOTO_PID=
OQ_FAILURES=()
# 1: also start a Ceph RGW (test/rgw.sh); test/run --skip rgw sets 0
OQ_RGW=${OQ_RGW:-0}

# shellcheck source=test/rgw.sh
. "$OQ_ROOT/test/rgw.sh"

# ---------------------------------------------------------------------------
# messages

oq_say() {
	printf '[%4ds] %s\n' "$SECONDS" "$*"
}

oq_die() {
	printf 'test: %s\n' "$*" >&2
	exit 1
}

# Copy stdin to stdout with the S3 secret and the cluster password masked:
# everything printed on failure (server log, diffs) goes through here,
# because a failed CREATE USER MAPPING is logged with its statement.
oq_redact() {
	OQ_R1=${OQ_TEST_SECRET_ACCESS_KEY:-} OQ_R2=${OQ_PGPASSWORD:-} \
		OQ_R3=${OQ_RGW_SECRET_ACCESS_KEY:-} awk '
	function mask(s, t,    i, out) {
		if (t == "")
			return s
		out = ""
		while ((i = index(s, t)) > 0) {
			out = out substr(s, 1, i - 1) "[REDACTED]"
			s = substr(s, i + length(t))
		}
		return out s
	}
	{ print mask(mask(mask($0, ENVIRON["OQ_R1"]), ENVIRON["OQ_R2"]), ENVIRON["OQ_R3"]) }'
}

# Print the last lines of a log file, masked, under a heading.
oq_show_tail() {
	local what=$1 file=$2 lines=${3:-40}
	[ -s "$file" ] || return 0
	printf -- '----- %s (last %d lines of %s)\n' "$what" "$lines" "$file"
	tail -n "$lines" "$file" | oq_redact
	printf -- '-----\n'
}

# ---------------------------------------------------------------------------
# setup and teardown

# initdb and postgres refuse to run as root: as root, run them as the
# postgres OS user (created by the postgresql-common package).
oq_as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

oq_chown_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		chown postgres: "$@"
	fi
}

# moto and boto3 live in the python3 that pip installed them into; on these
# machines that is pyenv's, which a non-interactive shell (CI) may not have on
# PATH.  Put the first python3 that has them first on PATH.
oq_find_python() {
	local d
	python3 -c 'import moto, boto3' >/dev/null 2>&1 && return 0
	for d in "${PYENV_ROOT:-${HOME:-/root}/.pyenv}/shims" /root/.pyenv/shims /usr/local/bin; do
		if [ -x "$d/python3" ] && "$d/python3" -c 'import moto, boto3' >/dev/null 2>&1; then
			export PATH="$d:$PATH"
			return 0
		fi
	done
	return 0 # oq_ensure_deps says what is missing
}

# What a run needs, checked in about a second without asking dpkg or apt:
# the server binaries, headers and PGXS of $PG_CONFIG's release, the
# libraries the build links (pkg-config), the tools the harness calls,
# python3 with moto and boto3, and per argument: "fuzz" clang and its
# libFuzzer runtime, "valgrind", "rgw" the Ceph binaries (test/rgw.sh).
# Prints what is missing, one a line.
oq_missing_deps() {
	local bindir what c rt
	if [ ! -x "$PG_CONFIG" ]; then
		echo "pg_config ($PG_CONFIG)"
	else
		bindir=$("$PG_CONFIG" --bindir)
		for c in postgres initdb pg_ctl; do
			[ -x "$bindir/$c" ] || echo "$bindir/$c"
		done
		[ -f "$("$PG_CONFIG" --includedir-server)/postgres.h" ] || echo "the server headers (postgres.h)"
		[ -f "$("$PG_CONFIG" --pgxs)" ] || echo "PGXS (pgxs.mk)"
	fi
	for c in make gcc pkg-config curl psql python3; do
		command -v "$c" >/dev/null 2>&1 || echo "$c"
	done
	if command -v pkg-config >/dev/null 2>&1; then
		pkg-config --exists libcurl openssl jansson libxml-2.0 ||
			echo "the libcurl, OpenSSL, jansson or libxml2 headers (pkg-config)"
	fi
	python3 -c 'import moto, boto3' >/dev/null 2>&1 || echo "python3 modules moto and boto3"
	for what in "$@"; do
		case $what in
		fuzz)
			if ! command -v clang >/dev/null 2>&1; then
				echo clang
			else
				# lib/linux/ or lib/<target triple>/, as the packaging has it
				rt=$(clang -print-resource-dir 2>/dev/null)
				compgen -G "$rt/lib/*/libclang_rt.fuzzer*.a" >/dev/null || echo "clang's libFuzzer runtime"
			fi
			;;
		valgrind)
			command -v valgrind >/dev/null 2>&1 || echo valgrind
			;;
		rgw)
			for c in radosgw radosgw-admin ceph ceph-mon ceph-osd monmaptool ceph-authtool; do
				command -v "$c" >/dev/null 2>&1 || echo "$c"
			done
			;;
		esac
	done
}

# Run test/install-deps only when something is missing (a fresh machine,
# CI), not on every run on a machine that has it all.  Arguments as for
# oq_missing_deps; without "rgw", install-deps leaves out the Ceph packages.
oq_ensure_deps() {
	local missing=() args=(--without-rgw)
	oq_find_python
	mapfile -t missing < <(oq_missing_deps "$@")
	[ ${#missing[@]} -gt 0 ] || return 0
	oq_say "missing: $(printf '%s, ' "${missing[@]}" | sed 's/, $//'); running test/install-deps"
	[[ " $* " == *" rgw "* ]] && args=()
	"$OQ_ROOT/test/install-deps" "${args[@]}"
	oq_find_python
	mapfile -t missing < <(oq_missing_deps "$@")
	[ ${#missing[@]} -eq 0 ] ||
		oq_die "still missing after test/install-deps: $(printf '%s, ' "${missing[@]}" | sed 's/, $//')"
}

oq_free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Create $OQ_TMP and arm the cleanup trap.  Must run in the main shell.
oq_init() {
	OQ_TMP=$(mktemp -d "${TMPDIR:-/tmp}/oq-test.XXXXXX")
	# the cluster runs as another user and must reach its files in here
	chmod 755 "$OQ_TMP"
	if ! oq_as_pg test -x "$OQ_TMP"; then
		oq_die "$OQ_TMP is not reachable by the postgres user; set TMPDIR to a directory it can enter"
	fi
	trap oq_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

oq_cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	set +e
	if [ -z "$OQ_TMP" ]; then
		exit "$rc"
	fi
	if [ "$rc" -ne 0 ]; then
		oq_show_tail "server log" "$OQ_TMP/postgres.log" 40
		if [ -n "$OQ_MOTO_PID" ] && ! kill -0 "$OQ_MOTO_PID" 2>/dev/null; then
			oq_show_tail "moto log (moto died)" "$OQ_TMP/moto.log" 20
		fi
	fi
	if [ "$OQ_KEEP" = 1 ] && [ "$OQ_PG_STARTED" = 1 ]; then
		oq_write_stop_script
		oq_print_connect_info
	else
		oq_pg_stop
		oq_moto_stop
		oq_rgw_stop
		rm -rf "$OQ_TMP"
	fi
	# the caller's last word (test/run: the counts), after everything else
	if declare -F oq_closing_line >/dev/null; then
		oq_closing_line "$rc"
	fi
	exit "$rc"
}

# ---------------------------------------------------------------------------
# build and private installation

# Build the extension; any compiler warning fails the run.  -B recompiles
# everything so warnings in files an earlier build compiled are not hidden.
oq_build() {
	local log=$OQ_TMP/build.log
	oq_say "build (make)"
	if ! make -C "$OQ_ROOT" -B -j"$(nproc)" PG_CONFIG="$PG_CONFIG" >"$log" 2>&1; then
		tail -n 40 "$log"
		oq_die "build failed"
	fi
	if grep -q 'warning:' "$log"; then
		grep -B2 -A4 'warning:' "$log" | head -n 60
		oq_die "the build has compiler warnings"
	fi
}

# Hard-link (same filesystem) or copy one directory of the system tree into
# the private tree.  Executables must be real files: PostgreSQL resolves
# symlinks when locating itself, which would lead back to the system tree.
oq_mirror_dir() {
	local src=$1 dst=$2 kind=$3
	mkdir -p "$(dirname "$dst")"
	cp -al "$src" "$dst" 2>/dev/null && return 0
	rm -rf "$dst"
	if [ "$kind" = bin ]; then
		cp -a "$src" "$dst"
	else
		cp -as "$src" "$dst"
	fi
}

# PostgreSQL finds share/ and lib/ relative to its executable, so a copy of
# the server binaries in $OQ_PRIV/<bindir> with share/ and lib/ in the same
# relative layout serves our extension from $OQ_PRIV and nothing else.
oq_private_install() {
	local bindir sharedir pkglibdir
	bindir=$("$PG_CONFIG" --bindir)
	sharedir=$("$PG_CONFIG" --sharedir)
	pkglibdir=$("$PG_CONFIG" --pkglibdir)
	OQ_PRIV=$OQ_TMP/install
	OQ_PGBIN=$OQ_PRIV$bindir
	OQ_PRIV_SHAREDIR=$OQ_PRIV$sharedir
	oq_say "install into the private tree $OQ_PRIV"
	oq_mirror_dir "$bindir" "$OQ_PRIV$bindir" bin
	oq_mirror_dir "$sharedir" "$OQ_PRIV$sharedir" data
	oq_mirror_dir "$pkglibdir" "$OQ_PRIV$pkglibdir" data
	# If the system tree has an oq_fdw (someone ran "make install"), drop the
	# links to it so "make install" below never writes through a hard link.
	rm -rf "$OQ_PRIV$sharedir"/extension/oq_fdw[-.]* \
		"$OQ_PRIV$pkglibdir"/oq_fdw.so \
		"$OQ_PRIV$pkglibdir"/bitcode/oq_fdw "$OQ_PRIV$pkglibdir"/bitcode/oq_fdw.index.bc
	if ! make -C "$OQ_ROOT" install DESTDIR="$OQ_PRIV" PG_CONFIG="$PG_CONFIG" \
		>"$OQ_TMP/install.log" 2>&1; then
		tail -n 30 "$OQ_TMP/install.log"
		oq_die "make install DESTDIR=... failed"
	fi
}

# ---------------------------------------------------------------------------
# the throwaway cluster

oq_psql() {
	psql -X -q -v ON_ERROR_STOP=1 "$@"
}

# A wrapper pg_ctl can start instead of postgres (pg_ctl -p): the server and
# every backend it forks run under valgrind.  Errors make a backend exit with
# 128, which the postmaster reports as a crash, and are also collected from
# the logs after the run (oq_valgrind_report).
oq_write_valgrind_wrapper() {
	local pgsupp supp
	mkdir -p "$OQ_TMP/valgrind"
	oq_chown_pg "$OQ_TMP/valgrind"
	# ours, plus PostgreSQL's own where the packaging ships it (Debian's
	# does not); copied so the postgres user can read them
	cp "$OQ_ROOT/test/valgrind.supp" "$OQ_TMP/valgrind.supp"
	supp="--suppressions=$OQ_TMP/valgrind.supp"
	pgsupp=$("$PG_CONFIG" --pkglibdir)/pgxs/src/tools/valgrind.supp
	if [ -f "$pgsupp" ]; then
		cp "$pgsupp" "$OQ_TMP/valgrind-pg.supp"
		supp="$supp --suppressions=$OQ_TMP/valgrind-pg.supp"
	fi
	cat >"$OQ_TMP/valgrind-postgres" <<EOF
#!/bin/sh
exec valgrind --quiet --trace-children=yes --track-origins=yes \\
	--num-callers=30 --leak-check=no --error-limit=no --gen-suppressions=all \\
	--error-exitcode=128 --error-markers=VALGRINDERROR-BEGIN,VALGRINDERROR-END \\
	$supp --log-file="$OQ_TMP/valgrind/%p.log" \\
	"$OQ_PGBIN/postgres" "\$@"
EOF
	chmod 755 "$OQ_TMP/valgrind-postgres"
}

# Print the first valgrind error reports from the per-process logs; fail if
# there are any.  Each report is bracketed by --error-markers.
oq_valgrind_errors() {
	local logs n f
	n=$(find "$OQ_TMP/valgrind" -name '*.log' | wc -l)
	logs=$(grep -l VALGRINDERROR-BEGIN "$OQ_TMP"/valgrind/*.log 2>/dev/null || true)
	if [ -z "$logs" ]; then
		echo "no valgrind errors in $n process logs"
		return 0
	fi
	echo "valgrind errors in $(printf '%s\n' "$logs" | wc -l) of $n process logs:"
	for f in $(printf '%s\n' "$logs" | head -n 3); do
		printf -- '----- %s\n' "$f"
		sed -n '/VALGRINDERROR-BEGIN/,/VALGRINDERROR-END/p' "$f" | head -n 150
	done
	printf -- '-----\n'
	return 1
}

oq_initdb() {
	OQ_PGDATA=$OQ_TMP/data
	OQ_PGSOCK=$OQ_TMP/sock
	mkdir -m 700 "$OQ_PGDATA" "$OQ_PGSOCK"
	touch "$OQ_TMP/postgres.log"
	oq_chown_pg "$OQ_PGDATA" "$OQ_PGSOCK" "$OQ_TMP/postgres.log"
	# Local socket connections (a 0700 directory: only its owner and root)
	# are trusted; TCP on 127.0.0.1 needs a password, which only this run
	# knows (in a 0600 PGPASSFILE), since other users of the machine can
	# reach loopback ports.
	OQ_PGPASSWORD=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
	(umask 077 && printf '%s\n' "$OQ_PGPASSWORD" >"$OQ_TMP/pwfile")
	oq_chown_pg "$OQ_TMP/pwfile"
	if ! (cd "$OQ_TMP" && oq_as_pg "$OQ_PGBIN/initdb" -D "$OQ_PGDATA" -U postgres \
		--auth-local=trust --auth-host=scram-sha-256 --pwfile="$OQ_TMP/pwfile" \
		-E UTF8 --no-locale --no-sync) >"$OQ_TMP/initdb.log" 2>&1; then
		cat "$OQ_TMP/initdb.log"
		oq_die "initdb failed"
	fi
	rm -f "$OQ_TMP/pwfile"
	cat >>"$OQ_PGDATA/postgresql.conf" <<EOF

# oq_fdw test harness: a throwaway cluster
listen_addresses = '127.0.0.1'
unix_socket_directories = '$OQ_PGSOCK'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 40
lc_messages = 'C'
log_line_prefix = '%m [%p] %q%u@%d '
# The shared task cache exists (small, so that test_shared_cache can fill
# it) but sessions keep their own cache unless they turn it on: the
# suites count one session's GETs, which other sessions' reads must not
# change.  test_shared_cache turns it on; the other tests cover the
# per-backend cache.
shared_preload_libraries = 'oq_fdw'
oq_fdw.shared_cache_size = '2MB'
oq_fdw.shared_cache = off
EOF
	if [ "$OQ_VALGRIND" = 1 ]; then
		# JIT'd code confuses valgrind and is not ours to check
		echo "jit = off" >>"$OQ_PGDATA/postgresql.conf"
	fi
}

# The postmaster's environment is the harness's without the variables that
# choose credentials or carry secrets (AWS_*, and the suites' OQ_* and
# PG*): a machine with AWS credentials in its environment must not lend
# them to the throwaway cluster, whose credential tests decide what the
# server's environment holds (see oq_write_pg_restart_script).  Prints
# "env -u NAME ..." arguments, one a line.
oq_pg_env_unset_args() {
	local v
	for v in $(compgen -e); do
		case $v in
		AWS_* | OQ_* | PG*) printf -- '-u\n%s\n' "$v" ;;
		esac
	done
}

# Start the server on a random free port; retry with another port if one was
# taken between choosing and binding it.
oq_pg_start() {
	local port timeout=120 exe=() unset_env=()
	if [ "$OQ_VALGRIND" = 1 ]; then
		oq_write_valgrind_wrapper
		exe=(-p "$OQ_TMP/valgrind-postgres")
		timeout=600
	fi
	mapfile -t unset_env < <(oq_pg_env_unset_args)
	for _ in 1 2 3; do
		port=$(oq_free_port)
		: >"$OQ_TMP/postgres.log"
		if (cd "$OQ_TMP" && oq_as_pg env "${unset_env[@]}" "$OQ_PGBIN/pg_ctl" -D "$OQ_PGDATA" \
			-l "$OQ_TMP/postgres.log" -w -t "$timeout" -o "-p $port" "${exe[@]}" start) \
			>"$OQ_TMP/pg_ctl.log" 2>&1; then
			OQ_PG_STARTED=1
			OQ_PGPORT=$port
			oq_write_pg_restart_script "$timeout" "${exe[@]}"
			return 0
		fi
		grep -q 'could not bind\|Address already in use' "$OQ_TMP/postgres.log" || break
	done
	cat "$OQ_TMP/pg_ctl.log"
	oq_show_tail "server log" "$OQ_TMP/postgres.log" 30
	[ "$OQ_VALGRIND" = 1 ] && oq_valgrind_errors
	oq_die "the server did not start"
}

# $OQ_TMP/pg-restart [NAME...]: restart the running cluster (same port, same
# valgrind wrapper) with the start's environment plus the variables named,
# taken from pg-restart's own environment (so no value, no secret, shows in
# a process list); with no names, the plain environment again.  The python
# tests of credentials use it (as $OQ_PG_RESTART) to give the server an AWS
# environment.  While extra variables are in effect $OQ_TMP/pg-env-changed
# exists, so that run_py restores the cluster after a test that did not.
oq_write_pg_restart_script() {
	local timeout=$1
	shift
	{
		echo '#!/usr/bin/env bash'
		echo '# pg-restart [NAME...]: restart the test cluster with these variables of'
		echo '# this environment added (none: the plain environment).  Written by test/lib.sh.'
		printf 'OQ_TMP=%q\nOQ_PGBIN=%q\nOQ_PGDATA=%q\nOQ_PGPORT=%q\nTIMEOUT=%q\n' \
			"$OQ_TMP" "$OQ_PGBIN" "$OQ_PGDATA" "$OQ_PGPORT" "$timeout"
		if [ $# -gt 0 ]; then
			printf 'EXE=(%s)\n' "$(printf '%q ' "$@")"
		else
			echo 'EXE=()'
		fi
		cat <<'EOF'
set -euo pipefail
keep=" "
for name in "$@"; do
	case $name in
	[A-Za-z_]*) keep+="$name " ;;
	*)
		echo "pg-restart: not a variable name: $name" >&2
		exit 2
		;;
	esac
done
unset_env=()
for v in $(compgen -e); do
	case $v in
	AWS_* | OQ_* | PG*) [[ $keep == *" $v "* ]] || unset_env+=(-u "$v") ;;
	esac
done
as_pg=()
[ "$(id -u)" -eq 0 ] && as_pg=(runuser -u postgres --)
cd "$OQ_TMP"
"${as_pg[@]}" "$OQ_PGBIN/pg_ctl" -D "$OQ_PGDATA" -m fast -w -t "$TIMEOUT" stop >/dev/null
if [ $# -gt 0 ]; then
	touch "$OQ_TMP/pg-env-changed"
else
	rm -f "$OQ_TMP/pg-env-changed"
fi
"${as_pg[@]}" env "${unset_env[@]}" "$OQ_PGBIN/pg_ctl" -D "$OQ_PGDATA" \
	-l "$OQ_TMP/postgres.log" -w -t "$TIMEOUT" -o "-p $OQ_PGPORT" "${EXE[@]}" start >/dev/null
EOF
	} >"$OQ_TMP/pg-restart"
	chmod 755 "$OQ_TMP/pg-restart"
}

oq_pg_stop() {
	[ "$OQ_PG_STARTED" = 1 ] || return 0
	OQ_PG_STARTED=0
	(cd "$OQ_TMP" && oq_as_pg "$OQ_PGBIN/pg_ctl" -D "$OQ_PGDATA" -m fast -w -t 120 stop) >/dev/null 2>&1 ||
		(cd "$OQ_TMP" && oq_as_pg "$OQ_PGBIN/pg_ctl" -D "$OQ_PGDATA" -m immediate -w -t 30 stop) >/dev/null 2>&1 ||
		true
}

oq_export_pg_env() {
	export PGHOST=$OQ_PGSOCK PGPORT=$OQ_PGPORT PGUSER=postgres PGDATABASE=postgres
	# for TCP connections (host=127.0.0.1); the socket needs no password
	export PGPASSFILE=$OQ_TMP/pgpass
	(umask 077 && printf '127.0.0.1:%s:*:postgres:%s\n' "$OQ_PGPORT" "$OQ_PGPASSWORD" >"$PGPASSFILE")
	unset PGSERVICE PGOPTIONS PGSSLMODE PGPASSWORD
}

# The server must serve the extension from the private tree, not from the
# system directories: check where it thinks its files are, and that
# oq_fdw is there.
oq_pg_verify_private() {
	local sharedir
	sharedir=$(oq_psql -At -c "SELECT setting FROM pg_config WHERE name = 'SHAREDIR'")
	[ "$sharedir" = "$OQ_PRIV_SHAREDIR" ] ||
		oq_die "the server uses SHAREDIR $sharedir, not the private tree $OQ_PRIV_SHAREDIR"
	[ -f "$sharedir/extension/oq_fdw.control" ] ||
		oq_die "oq_fdw.control was not installed into $sharedir/extension"
	[ "$(oq_psql -At -c "SELECT count(*) FROM pg_available_extensions WHERE name = 'oq_fdw'")" = 1 ] ||
		oq_die "the server does not see oq_fdw as available"
}

# ---------------------------------------------------------------------------
# moto

# moto with SigV4 checked as AWS does (test/moto_sigv4.py; the first 3
# requests are let in unchecked to create the identity, see
# test/s3_bootstrap.py).  OQ_MOTO_PLAIN=1 asks for plain moto, which checks
# no signature (bench/run: the server's CPU should go to serving); the tests
# refuse it.
oq_moto_start() {
	local port cmd
	if [ "${OQ_MOTO_PLAIN:-0}" = 1 ]; then
		OQ_TEST_SIGV4_VERIFY=0
		cmd=(python3 -m moto.server)
	else
		OQ_TEST_SIGV4_VERIFY=1
		cmd=(env INITIAL_NO_AUTH_ACTION_COUNT=3 python3 "$OQ_ROOT/test/moto_sigv4.py")
	fi
	for _ in 1 2 3; do
		port=$(oq_free_port)
		# own session: a ^C reaches the harness, which stops moto in order
		setsid "${cmd[@]}" -H 127.0.0.1 -p "$port" >"$OQ_TMP/moto.log" 2>&1 </dev/null &
		OQ_MOTO_PID=$!
		for _ in $(seq 300); do
			# /moto-api/ does not count as one of the 3 unauthenticated requests
			if curl -sf -o /dev/null "http://127.0.0.1:$port/moto-api/"; then
				OQ_TEST_ENDPOINT=http://127.0.0.1:$port
				return 0
			fi
			kill -0 "$OQ_MOTO_PID" 2>/dev/null || break
			sleep 0.1
		done
		oq_moto_stop
		grep -q 'Address already in use' "$OQ_TMP/moto.log" || break
	done
	oq_show_tail "moto log" "$OQ_TMP/moto.log" 20
	oq_die "moto did not start"
}

oq_moto_stop() {
	[ -n "$OQ_MOTO_PID" ] || return 0
	local pid=$OQ_MOTO_PID
	OQ_MOTO_PID=
	kill "$pid" 2>/dev/null || return 0
	for _ in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

oq_s3_bootstrap() {
	local verify=()
	[ "$OQ_TEST_SIGV4_VERIFY" = 1 ] && verify=(--expect-verify)
	python3 "$OQ_ROOT/test/s3_bootstrap.py" --endpoint "$OQ_TEST_ENDPOINT" \
		--region "$OQ_TEST_REGION" --buckets "$OQ_ROOT/test/buckets" \
		--credentials-out "$OQ_TMP/s3-credentials" "${verify[@]}" ||
		oq_die "bootstrapping moto failed"
	set -a
	# shellcheck source=/dev/null
	. "$OQ_TMP/s3-credentials"
	set +a
	# tests with time bounds (cancel within a second) scale them under valgrind
	OQ_TEST_VALGRIND=$OQ_VALGRIND
	export OQ_TEST_ENDPOINT OQ_TEST_REGION OQ_TEST_SIGV4_VERIFY OQ_TEST_VALGRIND
}

# The task fixtures (test/fixtures/tasks), copied where the server can read
# them (as another OS user when root; a checkout may be in a private
# directory): suites load them with pg_read_binary_file.
oq_copy_fixtures() {
	cp -r "$OQ_ROOT/test/fixtures/tasks" "$OQ_TMP/fixtures"
	chmod -R a+rX "$OQ_TMP/fixtures"
	OQ_TEST_FIXTURES=$OQ_TMP/fixtures
	export OQ_TEST_FIXTURES
}

# ---------------------------------------------------------------------------
# everything together

# Install the extension privately, start the cluster and moto, export the
# environment the suites read.
oq_start_services() {
	oq_private_install
	if [ "$OQ_VALGRIND" = 1 ]; then
		oq_say "start PostgreSQL under valgrind"
	else
		oq_say "start PostgreSQL"
	fi
	oq_initdb
	oq_pg_start
	oq_export_pg_env
	oq_pg_verify_private
	oq_say "start moto"
	oq_moto_start
	oq_s3_bootstrap
	oq_copy_fixtures
	if [ "$OQ_RGW" = 1 ]; then
		oq_say "start Ceph RGW"
		oq_rgw_start
		oq_say "Ceph RGW at $OQ_RGW_ENDPOINT"
	fi
	# the python tests' helpers (test/py/lib/) and the importable tools of
	# test/ (gen_tasks, s3proxy, metadata_standin)
	export PYTHONPATH=$OQ_ROOT/test/py/lib:$OQ_ROOT/test${PYTHONPATH:+:$PYTHONPATH}
	oq_write_env_file
	oq_say "ready: PostgreSQL on port $PGPORT (socket $PGHOST), S3 at $OQ_TEST_ENDPOINT (SigV4 verified: $OQ_TEST_SIGV4_VERIFY)"
}

# A fresh database in which sql/setup.sql has run: extension oq_fdw, SERVER
# regress and the user mapping.  Used for the python tests.
oq_fresh_db() {
	local db=$1
	PGOPTIONS="-c client_min_messages=warning" \
		oq_psql -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" || return 1
	if ! oq_psql -d "$db" -f "$OQ_ROOT/sql/setup.sql" >/dev/null 2>"$OQ_TMP/setup-$db.err"; then
		oq_redact <"$OQ_TMP/setup-$db.err"
		return 1
	fi
}

# Everything a suite sees, for --keep users to source (0600: has the secret).
oq_write_env_file() {
	local v
	(
		umask 077
		for v in PGHOST PGPORT PGUSER PGDATABASE PGPASSFILE OQ_TEST_ENDPOINT OQ_TEST_REGION \
			OQ_TEST_ACCESS_KEY_ID OQ_TEST_SECRET_ACCESS_KEY OQ_TEST_SIGV4_VERIFY OQ_TEST_FIXTURES \
			PYTHONPATH; do
			printf 'export %s=%q\n' "$v" "${!v}"
		done >"$OQ_TMP/env"
		if [ -n "$OQ_RGW_ENDPOINT" ]; then
			for v in OQ_RGW_ENDPOINT OQ_RGW_ACCESS_KEY_ID OQ_RGW_SECRET_ACCESS_KEY; do
				printf 'export %s=%q\n' "$v" "${!v}"
			done >>"$OQ_TMP/env"
		fi
	)
}

oq_write_stop_script() {
	local as_pg=
	[ "$(id -u)" -eq 0 ] && as_pg="runuser -u postgres --"
	cat >"$OQ_TMP/stop" <<EOF
#!/usr/bin/env bash
# stop what "--keep" left running and remove its files
cd / && $as_pg "$OQ_PGBIN/pg_ctl" -D "$OQ_PGDATA" -m fast -w stop
kill ${OQ_MOTO_PID:-0} ${OQ_RGW_PIDS[*]} 2>/dev/null
rm -rf "$OQ_TMP"
EOF
	chmod 755 "$OQ_TMP/stop"
}

oq_print_connect_info() {
	cat <<EOF

Left running (--keep):
  PostgreSQL  port $OQ_PGPORT, socket dir $OQ_PGSOCK, user postgres (log: $OQ_TMP/postgres.log)
  moto        $OQ_TEST_ENDPOINT, pid ${OQ_MOTO_PID:-?} (log: $OQ_TMP/moto.log)
${OQ_RGW_ENDPOINT:+  Ceph RGW    $OQ_RGW_ENDPOINT (OQ_RGW_* in the env file; logs: $OQ_TMP/rgw/log/)
}Connect:
  source $OQ_TMP/env       # PG* and OQ_TEST_* as the suites saw them (0600: holds the S3 secret)
  psql -d $OQ_KEEP_DB
Stop and clean up:
  $OQ_TMP/stop
EOF
}

# ---------------------------------------------------------------------------
# running stages

# Run a stage function, time it, record its failure and carry on, so one run
# reports every failing stage.
oq_stage() {
	local name=$1 start=$SECONDS
	shift
	oq_say "$name"
	if "$@"; then
		oq_say "$name: ok ($((SECONDS - start))s)"
	else
		oq_say "$name: FAILED ($((SECONDS - start))s)"
		OQ_FAILURES+=("$name")
	fi
}
