# SPDX-License-Identifier: MIT
"""The build backend pyproject.toml names (PEP 517), so that
`pip install --no-build-isolation ./python` works offline with nothing but
setuptools: setup.py builds the module and its native core with
setuptools' own build commands, and this writes the wheel (a zip file with
three small text files in it), without the separate `wheel` package that
setuptools before 70 needs for that."""
import base64
import hashlib
import os
import subprocess
import sys
import sysconfig
import tempfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))


def get_requires_for_build_wheel(config_settings=None):
    return []


def _version():
    text = open(os.path.join(HERE, "..", "include", "shmq.h")).read()
    return text.split('SHMQ_VERSION_STRING "', 1)[1].split('"', 1)[0]


def _tag():
    py = "cp%d%d" % sys.version_info[:2]
    plat = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    return "%s-%s-%s" % (py, py, plat)


def _digest(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    version, tag = _version(), _tag()
    dist = "shmq-%s.dist-info" % version
    name = "shmq-%s-%s.whl" % (version, tag)
    meta = {
        dist + "/METADATA": "Metadata-Version: 2.1\nName: shmq\nVersion: %s\n"
        "Summary: Message passing between processes on one Linux host over "
        "System V shared memory\nLicense: MIT\nRequires-Python: >=3.8\n" % version,
        dist + "/WHEEL": "Wheel-Version: 1.0\nGenerator: shmq build_shmq\n"
        "Root-Is-Purelib: false\nTag: %s\n" % tag,
        dist + "/top_level.txt": "_shmq\nshmq\n",
    }
    with tempfile.TemporaryDirectory() as tmp:
        lib = os.path.join(tmp, "lib")
        subprocess.run([sys.executable, "setup.py", "-q", "build",
                        "--build-base", os.path.join(tmp, "build"), "--build-lib", lib],
                       cwd=HERE, check=True, stdout=sys.stderr)
        record = []
        with zipfile.ZipFile(os.path.join(wheel_directory, name), "w",
                             zipfile.ZIP_DEFLATED) as whl:
            for f in sorted(os.listdir(lib)):
                data = open(os.path.join(lib, f), "rb").read()
                whl.writestr(f, data)
                record.append("%s,%s,%d" % (f, _digest(data), len(data)))
            for f, text in meta.items():
                data = text.encode()
                whl.writestr(f, data)
                record.append("%s,%s,%d" % (f, _digest(data), len(data)))
            record.append(dist + "/RECORD,,")
            whl.writestr(dist + "/RECORD", "\n".join(record) + "\n")
    return name
