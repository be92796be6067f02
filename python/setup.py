# SPDX-License-Identifier: MIT
"""Builds shmq's Python module and its native core, _shmq, with the C
library's sources (../src, ../include) compiled in: nothing else to
install, no network needed (pip install --no-build-isolation ./python)."""
import glob
import os
import re

from setuptools import Extension, setup
from setuptools.command.build_py import build_py

here = os.path.dirname(os.path.abspath(__file__))
top = os.path.dirname(here)


def rel(path):
    return os.path.relpath(path, here)


def version():
    text = open(os.path.join(top, "include", "shmq.h")).read()
    return re.search(r'SHMQ_VERSION_STRING "([^"]+)"', text).group(1)


class build_py_with_hints(build_py):
    """The module, and its type hints beside it."""

    def run(self):
        super().run()
        self.copy_file(os.path.join(here, "shmq.pyi"),
                       os.path.join(self.build_lib, "shmq.pyi"))


core = Extension(
    "_shmq",
    sources=[rel(os.path.join(here, "_shmq.c"))] +
            sorted(rel(p) for p in glob.glob(os.path.join(top, "src", "*.c"))),
    include_dirs=[rel(os.path.join(top, "include")), rel(os.path.join(top, "src"))],
    define_macros=[("_GNU_SOURCE", None)],
    extra_compile_args=["-std=gnu11", "-fvisibility=hidden"],
    libraries=["pthread", "rt"],
)

setup(version=version(), py_modules=["shmq"], ext_modules=[core],
      cmdclass={"build_py": build_py_with_hints})
