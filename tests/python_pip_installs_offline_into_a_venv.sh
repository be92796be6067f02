# `pip install --no-build-isolation ./python` builds the module and its
# native core with nothing but setuptools, offline, into a fresh virtual
# environment; from outside the source tree it imports, has its type
# hints beside it, makes a round trip, and pip uninstall takes it all away.
. tests/lib/tap.sh
if ! command -v python3 >/dev/null; then
	echo "1..0 # SKIP python3 is not installed"; exit 0
fi
if [ -n "${SAN_CFLAGS:-}" ]; then
	echo "1..0 # SKIP a sanitizer build: pip builds without the sanitizer"; exit 0
fi
if ! ls "$BUILD"/python/_shmq.*.so >/dev/null 2>&1; then
	echo "1..0 # SKIP no Python headers here: the native core cannot be built"; exit 0
fi
tmp=$(mktemp -d /tmp/shmq-pip.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
if ! python3 -m venv "$tmp/venv" > "$tmp/venv.log" 2>&1; then
	echo "1..0 # SKIP python3 -m venv does not work here (Debian: python3-venv)"; exit 0
fi
if ! "$tmp/venv/bin/python" -c 'import setuptools' 2>/dev/null; then
	echo "1..0 # SKIP the new virtual environment has no setuptools"; exit 0
fi
# The tree as a user would have it: only what the build reads.
mkdir "$tmp/src" && cp -r python src include "$tmp/src/" && rm -rf "$tmp/src/python/__pycache__"
(cd "$tmp/src" && PIP_NO_INDEX=1 timeout 300 "$tmp/venv/bin/pip" install \
	--no-build-isolation ./python) > "$tmp/pip.log" 2>&1
st=$?
is "$st" 0 "pip install --no-build-isolation ./python, offline (PIP_NO_INDEX=1)"
[ "$st" = 0 ] || sed 's/^/# /' "$tmp/pip.log" | tail -20
site=$("$tmp/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["platlib"])')
ok $([ -e "$site/shmq.py" ] && [ -e "$site/shmq.pyi" ] && ls "$site"/_shmq.*.so >/dev/null; echo $?) \
	"  it installs shmq.py, shmq.pyi and the native core"
cat > "$tmp/rt.py" <<'PY'
import os, sys
import shmq
assert shmq._core.__file__.startswith(sys.prefix), shmq._core.__file__
name = "t-pip-%d" % os.getpid()
pid = os.fork()
if pid == 0:
    try:
        with shmq.open(name, timeout=10) as ch:
            ch.send(ch.recv(timeout=10)[::-1])
    finally:
        os._exit(0)
with shmq.open(name, timeout=10) as ch:
    ch.send(b"round trip")
    print(ch.recv(timeout=10).decode())
os.waitpid(pid, 0)
PY
out=$(cd / && env -u SHMQ_PYTHON_CORE -u PYTHONPATH timeout 60 "$tmp/venv/bin/python" "$tmp/rt.py" 2>&1)
is "$out" "pirt dnuor" "  from outside the source tree: import, and a round trip on its own core"
out=$(cd / && env -u PYTHONPATH "$tmp/venv/bin/python" -c 'import pydoc, shmq; print(pydoc.render_doc(shmq, renderer=pydoc.plaintext))' 2>&1)
like "$out" "class Channel" "  help(shmq) reads: the classes are documented"
like "$out" "recv_many(.*)" "  and so are the core's methods"
"$tmp/venv/bin/pip" uninstall -y shmq > "$tmp/un.log" 2>&1
is "$?" 0 "pip uninstall shmq"
left=$(ls "$site" | grep -i shmq)
is "$left" "" "  takes every file of it away"
done_testing
