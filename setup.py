"""Build of the compiled PDQ search (everything else is declared in pyproject.toml)."""

import platform

from setuptools import Extension, setup

# The search is popcount-bound; without this, x86-64 compilers call a software popcount.
_POPCNT = ["-mpopcnt"] if platform.machine().lower() in ("x86_64", "amd64") else []

setup(
    ext_modules=[
        Extension(
            "vigil.matching._pdq_search",
            ["src/vigil/matching/_pdq_search.c"],
            extra_compile_args=["-O3", "-std=c11", *_POPCNT],
        )
    ]
)
