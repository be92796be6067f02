# TAP for shell tests: . tests/lib/tap.sh, then ok/is/skip, then done_testing.
# $SHMQ is the command under test; $BUILD the build directory.
: "${BUILD:=build}" "${SHMQ:=$BUILD/shmq}"
# timeout(1), when signalled or out of time, signals its whole process
# group and then sends SIGCONT.  Under LeakSanitizer that SIGCONT can
# cancel the SIGSTOP with which the exiting command's leak check stops its
# threads: the command then spins at exit for ever.  --foreground signals
# the command alone, once; every timeout in the tests goes through here.
timeout() {
	command timeout --foreground "$@"
}
tap_n=0
tap_fail=0
ok() {	# ok STATUS DESCRIPTION
	tap_n=$((tap_n + 1))
	# printf, not echo: dash's echo would act on a backslash in the text.
	if [ "$1" -eq 0 ]; then
		printf 'ok %d - %s\n' "$tap_n" "$2"
	else
		printf 'not ok %d - %s\n' "$tap_n" "$2"
		tap_fail=$((tap_fail + 1))
	fi
}
is() {	# is GOT WANT DESCRIPTION
	if [ "$1" = "$2" ]; then
		ok 0 "$3"
	else
		ok 1 "$3"
		printf '#   got:  %s\n#   want: %s\n' "$1" "$2"
	fi
}
like() { # like GOT GREP-PATTERN DESCRIPTION
	if printf '%s\n' "$1" | grep -q -- "$2"; then
		ok 0 "$3"
	else
		ok 1 "$3"
		printf '#   got:  %s\n#   want match: %s\n' "$1" "$2"
	fi
}
skip() { tap_n=$((tap_n + 1)); echo "ok $tap_n # SKIP $1"; }
diag() { echo "# $*"; }
done_testing() { echo "1..$tap_n"; [ $tap_fail -eq 0 ]; exit $?; }
# A name no other test run can be using.
tname() { echo "t-$1-$$"; }
# Milliseconds since the epoch.
now_ms() { date +%s%3N; }
# wait_gone PID LIMIT_MS: wait for PID to end; print how long it took.  Not
# with kill -0, which succeeds on a zombie: the process's state must be
# neither running nor sleeping.
wait_gone() {
	t0=$(now_ms)
	while :; do
		st=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' /proc/"$1"/status 2>/dev/null)
		case $st in ""|Z|X) break ;; esac
		[ $(( $(now_ms) - t0 )) -gt "$2" ] && break
		sleep 0.01
	done
	echo $(( $(now_ms) - t0 ))
}
# need_bridge: the whole test is skipped where shmq was built without ZeroMQ.
need_bridge() {
	case "$($SHMQ bridge feed 'tcp://*:1' 2>&1)" in
	*"built without ZeroMQ"*)
		echo "1..0 # SKIP shmq was built without ZeroMQ (libzmq3-dev)"; exit 0 ;;
	esac
}
# need_ipc_namespaces: skipped too where unshare --ipc is not allowed.
need_ipc_namespaces() {
	if ! unshare --ipc true 2>/dev/null; then
		echo "1..0 # SKIP cannot make an IPC namespace here (unshare --ipc needs root)"
		exit 0
	fi
}
# waitfor COMMAND...: run it until it succeeds, for up to 10 s; 1 if never.
waitfor() {
	_w=0
	until "$@"; do
		_w=$((_w + 1)); [ $_w -gt 500 ] && return 1; sleep 0.02
	done
}
