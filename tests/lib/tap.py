"""TAP for the Python tests: ok(), diag(), done(); and the check every one
of them makes first: can libshmq be loaded into Python here at all (a
sanitizer build cannot), else the whole test is skipped, saying why."""
import os
import subprocess
import sys

BUILD = os.environ.get("BUILD", "build")
os.environ.setdefault("SHMQ_PYTHON_CORE", os.path.join(BUILD, "python"))
sys.path.insert(0, "python")

_n = 0
_failed = 0


def ok(cond, what):
    global _n, _failed
    _n += 1
    if not cond:
        _failed += 1
    print("%sok %d - %s" % ("" if cond else "not ", _n, what), flush=True)
    return cond


def diag(text):
    print("# " + text, flush=True)


def done():
    print("1..%d" % _n)
    sys.exit(1 if _failed else 0)


def load_shmq():
    """The shmq module, or exit with a skip saying why it cannot load."""
    # A sanitizer build's core aborts a process that loads it without the
    # sanitizer's runtime, so try in a child first.
    probe = subprocess.run([sys.executable, "-c", "import shmq"],
                           capture_output=True, text=True,
                           env=dict(os.environ, PYTHONPATH="python"))
    if probe.returncode != 0:
        why = (probe.stderr.strip().splitlines() or ["?"])[-1]
        if "Sanitizer" in probe.stderr or "ASan" in probe.stderr:
            why = "a sanitizer build's core cannot be loaded into python3"
        print("1..0 # SKIP shmq cannot be imported here: %s" % why)
        sys.exit(0)
    import shmq
    return shmq
