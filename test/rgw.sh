# test/rgw.sh - a throwaway Ceph RADOS Gateway beside moto (sourced by test/lib.sh).
#
# moto is a mock (one Python process, Connection: close, lenient); RGW is a
# real S3 server: strict SigV4, keep-alive, its own error bodies and quirks.
# oq_rgw_start makes a one-host cluster in $OQ_TMP/rgw: one monitor (msgr2),
# one OSD on memstore (RAM, capped), pools of size 1, no ceph-mgr, cluster
# auth "none", and the gateway's beast frontend.  Every daemon binds
# 127.0.0.1 only, is given -c $OQ_TMP/rgw/ceph.conf (nothing in /etc/ceph
# is read or written), runs in the foreground under this shell and is
# stopped by oq_rgw_stop (the EXIT trap of oq_init).  An S3 user is made
# with radosgw-admin; the buckets of test/buckets by test/rgw_bootstrap.py.
#
# Exports OQ_RGW_ENDPOINT, OQ_RGW_ACCESS_KEY_ID, OQ_RGW_SECRET_ACCESS_KEY;
# oq_rgw_use points a (sub)shell's suite environment at RGW.

OQ_RGW_PIDS=()
OQ_RGW_GATEWAY_PID=
OQ_RGW_DIR=
OQ_RGW_ENDPOINT=

oq_rgw_conf() {
	local d=$1 fsid=$2 mon_port=$3 rgw_port=$4
	cat <<EOF
# oq_fdw test harness: a throwaway one-host Ceph cluster (test/rgw.sh)
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$mon_port
mon initial members = a
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind ipv6 = false
ms bind msgr1 = false
# a throwaway cluster on loopback: no cephx.  The gateway's monitor client
# must then use crc, or it hangs with get_initial_auth_request returned -13.
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc
auth allow insecure global id reclaim = true
mon warn on insecure global id reclaim allowed = false
# one OSD: pools of size 1, few placement groups, nothing to balance
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd crush chooseleaf type = 0
mon allow pool size one = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
run dir = $d/run
admin socket = $d/run/\$name.asok
pid file = $d/run/\$name.pid
log file = $d/log/\$name.log
keyring = $d/keyring
[mon.a]
mon data = $d/mon
[osd.0]
osd data = $d/osd0
osd objectstore = memstore
# RAM, capped: the suites store a few MB
memstore device bytes = 2147483648
osd journal = $d/osd0/journal
[client.rgw]
# endpoint=, never port=: port= listens on every address.  Without
# tcp_nodelay every answer waits ~40 ms for the client's delayed ACK
# (Nagle): 20 requests/s per connection instead of thousands.
rgw frontends = beast endpoint=127.0.0.1:$rgw_port tcp_nodelay=1
rgw data = $d/rgw
# virtual-host-style requests name the bucket as BUCKET.localhost
rgw dns name = localhost
EOF
}

# Run a ceph daemon in the foreground, in its own session (a ^C reaches the
# harness, which stops it in order), and remember its pid.
oq_rgw_daemon() {
	setsid "$@" -f -c "$OQ_RGW_DIR/ceph.conf" >>"$OQ_RGW_DIR/log/daemons.log" 2>&1 </dev/null &
	OQ_RGW_PIDS+=("$!")
}

oq_rgw_fail() {
	local f
	for f in "$OQ_RGW_DIR"/log/*.log; do
		[ -s "$f" ] && oq_show_tail "ceph log ${f##*/}" "$f" 15
	done
	oq_die "Ceph RGW did not start: $* (leave RGW out with --skip rgw)"
}

oq_rgw_start() {
	local d fsid osd_uuid mon_port rgw_port i p
	for i in radosgw radosgw-admin ceph ceph-mon ceph-osd monmaptool ceph-authtool; do
		command -v "$i" >/dev/null 2>&1 ||
			oq_die "$i is missing (test/install-deps installs radosgw, ceph-mon, ceph-osd; or --skip rgw)"
	done
	d=$OQ_TMP/rgw
	OQ_RGW_DIR=$d
	mkdir -p "$d/mon" "$d/osd0" "$d/run" "$d/log" "$d/rgw"
	fsid=$(python3 -c 'import uuid; print(uuid.uuid4())')
	osd_uuid=$(python3 -c 'import uuid; print(uuid.uuid4())')
	mon_port=$(oq_free_port)
	rgw_port=$(oq_free_port)
	oq_rgw_conf "$d" "$fsid" "$mon_port" "$rgw_port" >"$d/ceph.conf"
	# the monitor's own key (mkfs wants one even with auth none)
	ceph-authtool --create-keyring "$d/keyring" --gen-key -n mon. --cap mon 'allow *' \
		>>"$d/log/setup.log" 2>&1 || oq_rgw_fail "ceph-authtool"
	monmaptool --create --addv a "[v2:127.0.0.1:$mon_port]" --fsid "$fsid" "$d/monmap" \
		>>"$d/log/setup.log" 2>&1 || oq_rgw_fail "monmaptool"
	ceph-mon -c "$d/ceph.conf" --mkfs -i a --monmap "$d/monmap" --keyring "$d/keyring" \
		>>"$d/log/setup.log" 2>&1 || oq_rgw_fail "ceph-mon --mkfs"
	oq_rgw_daemon ceph-mon -i a
	# "osd new" waits for the monitor's quorum
	timeout 60 ceph -c "$d/ceph.conf" --connect-timeout 50 osd new "$osd_uuid" \
		>>"$d/log/setup.log" 2>&1 || oq_rgw_fail "ceph osd new (is the monitor up?)"
	ceph-osd -c "$d/ceph.conf" -i 0 --mkfs --osd-uuid "$osd_uuid" \
		>>"$d/log/setup.log" 2>&1 || oq_rgw_fail "ceph-osd --mkfs"
	oq_rgw_daemon ceph-osd -i 0
	oq_rgw_daemon radosgw -n client.rgw
	OQ_RGW_GATEWAY_PID=$!
	# the gateway answers once it has made its pools (about 10-20 s)
	for i in $(seq 240); do
		if curl -sf -o /dev/null "http://127.0.0.1:$rgw_port/"; then
			OQ_RGW_ENDPOINT=http://127.0.0.1:$rgw_port
			break
		fi
		for p in "${OQ_RGW_PIDS[@]}"; do
			kill -0 "$p" 2>/dev/null || oq_rgw_fail "a daemon exited"
		done
		sleep 0.5
	done
	[ -n "$OQ_RGW_ENDPOINT" ] || oq_rgw_fail "no answer on port $rgw_port after 120 s"
	# the user's keys are made by radosgw-admin (no secret on a command line)
	# and go to a 0600 file, like moto's
	(umask 077 && timeout 60 radosgw-admin -c "$d/ceph.conf" user create --uid=oq-test \
		--display-name=oq-test >"$d/user.json" 2>>"$d/log/setup.log") ||
		oq_rgw_fail "radosgw-admin user create"
	python3 "$OQ_ROOT/test/rgw_bootstrap.py" --endpoint "$OQ_RGW_ENDPOINT" \
		--region "$OQ_TEST_REGION" --buckets "$OQ_ROOT/test/buckets" \
		--user-json "$d/user.json" --credentials-out "$d/credentials" ||
		oq_rgw_fail "bootstrapping RGW (user, buckets) failed"
	rm -f "$d/user.json"
	# shellcheck source=/dev/null
	. "$d/credentials"
	export OQ_RGW_ENDPOINT OQ_RGW_ACCESS_KEY_ID OQ_RGW_SECRET_ACCESS_KEY
}

# Stop the daemons this run started, gateway first, by pid.
oq_rgw_stop() {
	local i pid
	[ ${#OQ_RGW_PIDS[@]} -gt 0 ] || return 0
	for ((i = ${#OQ_RGW_PIDS[@]} - 1; i >= 0; i--)); do
		kill "${OQ_RGW_PIDS[i]}" 2>/dev/null
	done
	for pid in "${OQ_RGW_PIDS[@]}"; do
		for _ in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	OQ_RGW_PIDS=()
	return 0
}

# Point this shell's suite environment at RGW instead of moto (call it in a
# subshell): the endpoint and keys the suites read, and OQ_TEST_S3=rgw for
# the tests that say which server's behaviour they expect.  RGW always
# verifies signatures.  Exported, never put on a command line.
oq_rgw_use() {
	export OQ_TEST_S3=rgw OQ_TEST_ENDPOINT=$OQ_RGW_ENDPOINT \
		OQ_TEST_ACCESS_KEY_ID=$OQ_RGW_ACCESS_KEY_ID \
		OQ_TEST_SECRET_ACCESS_KEY=$OQ_RGW_SECRET_ACCESS_KEY OQ_TEST_SIGV4_VERIFY=1
}
