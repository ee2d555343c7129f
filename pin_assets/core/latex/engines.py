"""Running LaTeXML, pandoc and Ghostscript on one e-print, each fenced in and bounded.

LaTeX is a programming language and an e-print is a program from the wild: it can loop forever (LaTeXML
keeps expanding ``\\def\\a{\\b}\\def\\b{\\a}`` until it is killed, and takes minutes to die of SIGTERM), eat
memory, and name any file on the machine (``\\input{/etc/passwd}``). Every tool here therefore runs as a child
process with:

* a **work budget** for LaTeXML: a count of its own progress steps (one per 30,000 tokens read, and per so many
  boxes digested or formulae parsed), enforced inside LaTeXML by ``latexml/PinLatexmlGuard.pm``. Work, not
  seconds, decides when a document falls back to pandoc, so the same e-print gives the same record on any
  machine under any load;
* a **file fence**: the same Perl module refuses any file outside the e-print's folder and the TeX and
  LaTeXML installation trees, whether its name was written out or built by macros; pandoc runs with
  ``--sandbox`` on a source flattened beforehand, Ghostscript with ``-dSAFER``;
* **limits the kernel enforces**: address space (``ulimit -v``) and CPU seconds (``ulimit -t``), so even a
  child whose parent was killed cannot run on; it also gets SIGKILL when its parent dies (``setpriv
  --pdeathsig``). A wall-clock limit kills the whole process group as a last resort, and quarantines the
  e-print (:func:`hung`): seconds guard against a hang, they never choose the converter.

No tool reaches the network: LaTeXML gets no URL base and the fence refuses URLs; pandoc is sandboxed.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from pin_assets.core.document import ConversionError

LATEXML_DIR = Path(__file__).resolve().parent / "latexml"  # our Perl module and XSLT stylesheet for LaTeXML
STYLESHEET = LATEXML_DIR / "pin-html5.xsl"
GUARD_MODULE = "PinLatexmlGuard"
TEXMF_VARIABLES = ("TEXMFDIST", "TEXMFMAIN", "TEXMFLOCAL", "TEXMFSYSVAR", "TEXMFSYSCONFIG", "TEXMFDEBIAN")
FALLBACK_TEXMF = ("/usr/share/texlive/texmf-dist", "/usr/share/texmf", "/var/lib/texmf", "/etc/texmf",
                  "/usr/local/share/texmf")
MAX_LOG_CHARS = 200_000


class ToolMissing(RuntimeError):
    """A program this converter needs is not installed (LaTeXML, pandoc or Ghostscript)."""


@dataclass(frozen=True)
class ToolRun:
    """What one tool run did: its exit status, captured output, and whether a limit stopped it."""

    returncode: int
    stdout: bytes
    stderr: str
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out

    @property
    def killed(self) -> bool:
        """Ended by a signal: the CPU limit (SIGXCPU/SIGKILL), the memory limit (a failed allocation often
        ends perl with SIGABRT or SIGSEGV) or the wall clock."""
        return self.timed_out or self.returncode < 0 or self.returncode > 128


DEBIAN_PACKAGES = {"latexmlc": "latexml", "pandoc": "pandoc", "gs": "ghostscript"}


def which(program: str) -> str:
    found = shutil.which(program)
    if found is None:
        package = DEBIAN_PACKAGES.get(program, program)
        raise ToolMissing(f"{program} is not installed (Debian package {package})")
    return found


def run_tool(
    argv: list[str], *, cwd: Path, timeout_s: float, memory_mb: int, env: dict[str, str] | None = None,
    stdin: bytes | None = None,
) -> ToolRun:
    """Run ``argv`` in ``cwd`` in a new process group under the address-space, CPU-time and wall-clock limits.

    The limits are set by a ``sh`` that then ``exec``s the tool (no Python runs between fork and exec);
    ``setpriv --pdeathsig KILL`` ties the tool's life to this process's where util-linux provides it.
    """
    wrapper = ['ulimit -t "$1"', 'ulimit -v "$2"' if memory_mb > 0 else ":", 'shift 2', 'exec "$@"']
    cpu_s = max(1, int(timeout_s) + 1)
    command = ["/bin/sh", "-c", "; ".join(wrapper), "sh", str(cpu_s), str(max(memory_mb, 1) * 1024)]
    setpriv = shutil.which("setpriv")
    if setpriv:
        command += [setpriv, "--pdeathsig", "KILL"]
    process = subprocess.Popen(
        command + argv, cwd=cwd, env=_base_env(cwd) | (env or {}), stdin=subprocess.PIPE if stdin else
        subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )
    try:
        out, err = process.communicate(stdin, timeout=timeout_s)
        timed_out = False
    except subprocess.TimeoutExpired:
        _kill_group(process)
        out, err = process.communicate()
        timed_out = True
    finally:
        if process.poll() is None:  # an exception (KeyboardInterrupt) while waiting: leave nothing running
            _kill_group(process)
            process.wait()
    return ToolRun(process.returncode, out, err.decode("utf-8", "replace")[-MAX_LOG_CHARS:], timed_out)


def hung(tool: str, seconds: float, detail: str = "") -> ConversionError:
    """The error for a tool stopped by the wall clock. Seconds are a guard against a hung document, not a
    budget: they depend on the machine and its load, so running past them quarantines the e-print (reason
    ``limit``, to retry on a quieter machine or with a larger ``doc_timeout_s``) instead of letting another
    converter, or a record without a figure, stand in for what an idle machine would have made."""
    return ConversionError("limit", f"{tool} ran past its {seconds:.0f} s share of doc_timeout_s{detail}, the "
                                    "guard against a hung document; the work budget (latex_work_budget) decides "
                                    "fallbacks")


def _kill_group(process: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # SIGTERM is not enough: LaTeXML keeps writing for minutes


def _base_env(cwd: Path) -> dict[str, str]:
    """A small, fixed environment: no proxy or credentials leak into the tools, HOME (and with it TEXMFHOME)
    is the work folder, and kpathsea refuses to write outside the working folder."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(cwd),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "openout_any": "p",
        "openin_any": "p",
        "shell_escape": "f",
    }


@functools.lru_cache(maxsize=1)
def texmf_roots() -> tuple[str, ...]:
    """The system TeX trees LaTeXML may read from (class and package files, font metrics, configuration)."""
    roots: list[str] = []
    kpsewhich = shutil.which("kpsewhich")
    for variable in TEXMF_VARIABLES if kpsewhich else ():
        try:
            value = subprocess.run([kpsewhich, f"-var-value={variable}"], capture_output=True, text=True,
                                   timeout=30).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            continue
        roots += [part for part in value.replace("!!", "").split(":") if part.startswith("/")]
    roots += [root for root in FALLBACK_TEXMF if Path(root).is_dir()]
    return tuple(dict.fromkeys(str(Path(root)) for root in roots if Path(root).is_dir()))


def _latexml_env(folder: Path, budget: int, source_date: int) -> dict[str, str]:
    return {
        "PIN_LATEXML_ROOTS": ":".join((str(folder.resolve()), *texmf_roots())),
        "PIN_LATEXML_WORK_BUDGET": str(max(0, budget)),
        "SOURCE_DATE_EPOCH": str(max(0, source_date)),
    }


def _perl(program: str) -> list[str]:
    return [which("perl"), f"-I{LATEXML_DIR}", f"-M{GUARD_MODULE}", which(program)]


def run_latexml(
    source: Path, main: str, out: Path, *, budget: int, timeout_s: float, memory_mb: int, source_date: int = 0,
) -> ToolRun:
    """LaTeXML on ``main`` (relative to ``source``), run from its folder as TeX runs: ``out/index.html``
    (HTML5 with MathML whose ``alttext`` keeps each formula's TeX) and the log ``out/latexml.log``.

    Graphics are left alone (``--nographicimages``: LaTeXML would hand PDF and EPS to ImageMagick); the
    stylesheet ``latexml/pin-html5.xsl`` keeps the file each one resolved to for :mod:`.figures`. Formulas
    are not parsed into semantic MathML (``--noparse``): only their TeX is kept, and parsing took half of
    LaTeXML's time on a math paper (11.4 s of CPU against 5.8 s, same ``alttext``).
    """
    main_path = source / main
    argv = _perl("latexmlc") + [
        "--quiet", "--nocomments", "--format=html5", f"--stylesheet={STYLESHEET}", "--nodefaultresources",
        "--nographicimages", "--novalidate", "--timestamp=0", "--noparse", "--pmml", f"--path={source}",
        f"--dest={out / 'index.html'}", f"--log={out / 'latexml.log'}", main_path.name,
    ]
    return run_tool(argv, cwd=main_path.parent, timeout_s=timeout_s, memory_mb=memory_mb,
                    env=_latexml_env(source, budget, source_date))


def run_pandoc(tex: str, cwd: Path, *, macros: bool = True, timeout_s: float, memory_mb: int) -> ToolRun:
    """pandoc's LaTeX reader on an already flattened source, to a standalone HTML5 page (title, authors,
    abstract) whose math stays TeX as written (``--mathjax``: ``<span class="math inline">\\(...\\)</span>``);
    ``--sandbox`` forbids it to read or fetch anything else. pandoc is a Haskell program whose runtime
    reserves a large address space at start, so its heap is capped with ``+RTS -M`` instead of ``ulimit -v``.
    ``macros=False`` leaves user macros unexpanded: pandoc refuses a macro that expands into itself."""
    argv = [which("pandoc"), "--sandbox", "--from=latex" + ("" if macros else "-latex_macros"), "--to=html5",
            "--standalone", "--mathjax",
            "--wrap=none", "--section-divs", "--metadata=lang:en"]
    return run_tool(argv + ["+RTS", f"-M{max(memory_mb, 64)}m", "-RTS"], cwd=cwd, timeout_s=timeout_s,
                    memory_mb=0, stdin=tex.encode("utf-8"))


def run_ghostscript(args: list[str], cwd: Path, *, timeout_s: float, memory_mb: int) -> ToolRun:
    """Ghostscript with ``-dSAFER`` (no file access beyond its arguments), batch mode, no display."""
    argv = [which("gs"), "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-dNOPROMPT", *args]
    return run_tool(argv, cwd=cwd, timeout_s=timeout_s, memory_mb=memory_mb)


def read_log(path: Path) -> str:
    try:
        return path.read_text("utf-8", "replace")[-MAX_LOG_CHARS:]
    except OSError:
        return ""
