"""Build script for wsfast's compiled hot paths.

Every hot path is a Cython module ``src/wsfast/_NAME.pyx`` with a pure-Python twin
``src/wsfast/_NAME_py.py``, compiled together with its C kernels; the modules of ``ONE_SOURCE`` are
plain Python files compiled as they are, typed by the ``.pxd`` beside them.
The build never fails for want of a compiler: if compilation is impossible, or if
``WSFAST_NO_EXTENSIONS=1`` is set, wsfast installs in pure Python and says so in a warning.
"""

from __future__ import annotations

import os
import sys
import sysconfig
import warnings
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).parent
PKG = Path("src") / "wsfast"
CSRC = PKG / "csrc"

# Cython module -> the C files compiled into it. Only _kernels links the kernels (one CPU detection,
# one dispatch state); the others cimport them from _kernels.pxd. The SIMD kernels carry their own
# per-function target attributes (see csrc/wsf_simd.h), so every file builds with the same baseline
# flags and the wheel runs on any CPU of its architecture; the fastest kernel is chosen at import.
EXTENSIONS: dict[str, list[str]] = {
    "_kernels": ["cpu.c", "mask*.c", "utf8*.c"],
    "_mask": [],
    "_utf8": [],
    "_frames": [],
    "_wsaccel_compat": [],
}

# Modules written once in Python and compiled from that same file (Cython's pure-Python mode, C
# types in the .pxd beside each): the uncompiled file is the pure-Python implementation.
ONE_SOURCE = ("wsfast._deflate_codec", "wsfast.connection", "wsfast.asyncio.connection")


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


def _compile_args() -> list[str]:
    if sys.platform == "win32" and not sysconfig.get_platform().startswith("mingw"):
        return ["/O2"]
    args = ["-O3", "-fno-strict-aliasing"]
    if _env_flag("WSFAST_DEBUG_BUILD"):
        args = ["-O1", "-g", "-fno-omit-frame-pointer"]
    extra = os.environ.get("WSFAST_EXTRA_CFLAGS")
    if extra:
        args += extra.split()
    return args


def _extensions() -> list[Extension]:
    # WSFAST_BUILD_ONLY=_utf8,_frames builds a subset (for quick rebuilds while developing).
    only = {n.strip() for n in os.environ.get("WSFAST_BUILD_ONLY", "").split(",") if n.strip()}
    modules = []
    for name, kernels in EXTENSIONS.items():
        if only and name not in only:
            continue
        pyx = PKG / f"{name}.pyx"
        if not (HERE / pyx).exists():
            continue
        sources = [str(pyx)]
        for pattern in kernels:
            sources += sorted(str(p.relative_to(HERE)) for p in (HERE / CSRC).glob(pattern))
        modules.append(
            Extension(
                f"wsfast.{name}",
                sources,
                include_dirs=[str(CSRC)],
                extra_compile_args=_compile_args(),
                extra_link_args=os.environ.get("WSFAST_EXTRA_LDFLAGS", "").split(),
            )
        )
    for module in ONE_SOURCE:
        if only and module.rpartition(".")[2] not in only and module not in only:
            continue
        source = Path("src", *module.split(".")).with_suffix(".py")
        modules.append(
            Extension(
                module,
                [str(source)],
                extra_compile_args=_compile_args(),
                extra_link_args=os.environ.get("WSFAST_EXTRA_LDFLAGS", "").split(),
            )
        )
    return modules


def _cythonize(modules: list[Extension]) -> list[Extension]:
    from Cython.Build import cythonize

    return cythonize(
        modules,
        compiler_directives={
            "language_level": 3,
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
            "embedsignature": True,
            "freethreading_compatible": True,
        },
        annotate=_env_flag("WSFAST_ANNOTATE"),
    )


class OptionalBuildExt(build_ext):
    """Builds the extensions, or warns and leaves the pure-Python twins in charge."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # no compiler, missing headers ...
            self._fallback(exc)

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:
            self._fallback(exc)

    def _fallback(self, exc: BaseException) -> None:
        if _env_flag("WSFAST_REQUIRE_EXTENSIONS"):
            raise exc
        warnings.warn(
            f"wsfast: could not compile the C extensions ({exc}); "
            "installing the pure-Python implementation, which is correct but slower.",
            stacklevel=1,
        )
        print("WARNING: wsfast is installed without its compiled extensions.", file=sys.stderr)


def _ext_modules() -> list[Extension]:
    if _env_flag("WSFAST_NO_EXTENSIONS"):
        warnings.warn("wsfast: WSFAST_NO_EXTENSIONS is set; pure Python only.", stacklevel=1)
        return []
    modules = _extensions()
    try:
        return _cythonize(modules)
    except Exception as exc:  # Cython missing outside an isolated build
        if _env_flag("WSFAST_REQUIRE_EXTENSIONS"):
            raise
        warnings.warn(f"wsfast: Cython unavailable ({exc}); pure Python only.", stacklevel=1)
        return []


setup(ext_modules=_ext_modules(), cmdclass={"build_ext": OptionalBuildExt})
