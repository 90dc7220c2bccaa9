"""The `animgen` command line: a thin layer over animgen_ml and the service.

Each subcommand lives in its own module that exposes `register(subparsers)`; the handler it sets returns
an exit code. User errors (AnimGenError) print one line, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
from pathlib import Path

from animgen_ml import __version__
from animgen_ml.errors import AnimGenError, InputError, UsageError
from animgen_server.native_logs import quiet_native_logs

# Modules that add subcommands, in the order `animgen --help` lists them.
COMMAND_MODULES = (
    "animgen_server.cmd_generate",  # generate
    "animgen_server.cmd_service",  # serve, jobs, cancel
    "animgen_server.cmd_model",  # train, evaluate
)


class Terminated(KeyboardInterrupt):
    """SIGTERM (a CI job's time limit, `kill`), stopped as Ctrl-C is: files being written are removed and a job
    on a server is cancelled. Left to the default action, the process died at once, leaving both behind."""


def _terminate(signum, frame) -> None:
    raise Terminated


# SIGTERM, and Ctrl-Break on Windows (which delivers no SIGTERM; a CI runner's cancel sends Ctrl-Break).
TERMINATE_SIGNALS = (signal.SIGTERM, *((signal.SIGBREAK,) if hasattr(signal, "SIGBREAK") else ()))


def usage(command: str, message: str) -> int:
    """A command line that cannot be run as given: one line, exit code 2 (as argparse's own errors)."""
    print(f"animgen {command}: error: {message}", file=sys.stderr)
    return 2


def add_model_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", metavar="WEIGHTS.npz",
                        help="run the network of these weights (`animgen train --out`) instead of the shipped one "
                             "(default: $ANIMGEN_WEIGHTS when set)")


def use_model(path: str, given_as: str = "--model ") -> str | None:
    """--model (or $ANIMGEN_WEIGHTS): checks the weights and names them in $ANIMGEN_WEIGHTS, which the network's
    loader reads in this process and in the workers it starts. What is wrong with them, or None."""
    from animgen_ml import model

    if not Path(path).is_file():
        return f"{given_as}{path}: {'a folder' if Path(path).is_dir() else 'no such file'}"
    try:
        model.load_file(path)
    except AnimGenError as e:
        return f"{given_as}{e}"
    os.environ[model.WEIGHTS_ENV] = str(Path(path).resolve())
    return None


def check_weights(args: argparse.Namespace) -> None:
    """--model or $ANIMGEN_WEIGHTS, checked before any work where this process runs the network: not for a run of
    the analytic baseline, nor for one on a server (the handler says when --model is given to either)."""
    if getattr(args, "generator", "") == "analytic" or getattr(args, "server", None):
        return
    from animgen_ml import model

    if args.model:
        if problem := use_model(args.model):
            raise UsageError(problem)
    elif (env := os.environ.get(model.WEIGHTS_ENV)) and (
            problem := use_model(env, f"environment variable {model.WEIGHTS_ENV}=")):
        raise InputError(problem)


# Options whose value is a list of numbers: argparse reads "-1,2" after them as an option and says only "expected
# one argument"; joined as "--keyframe-tolerance=-1,2" the value reaches the check that says what is wrong with it.
LIST_OPTIONS = ("--keyframe-tolerance",)


def _join_signed_lists(argv: list[str]) -> list[str]:
    out: list[str] = []
    for arg in argv:
        if out and out[-1] in LIST_OPTIONS and len(arg) > 1 and arg[0] == "-" and (arg[1].isdigit() or arg[1] == "."):
            out[-1] = f"{out[-1]}={arg}"
        else:
            out.append(arg)
    return out


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="animgen", description="Video of a person in, humanoid animation out.")
    parser.add_argument("--version", action="version", version=f"animgen {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name != name:
                raise
            continue
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(_join_signed_lists(sys.argv[1:] if argv is None else argv))
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    if argv is None:  # a real process, not a call from a test
        # A name the console's code page cannot show (tänzer.mp4 in a Windows CI log) is escaped, not a crash
        # after the files were written.
        if sys.stdout is not None:  # None under pythonw
            sys.stdout.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]
        if args.command in ("generate", "evaluate"):
            quiet_native_logs()
        if args.command != "serve":  # serve stops its own way on SIGTERM
            for sig in TERMINATE_SIGNALS:
                signal.signal(sig, _terminate)
    try:
        if hasattr(args, "model") and args.command != "serve":  # serve checks them once its log is open
            check_weights(args)
        return int(args.handler(args) or 0)
    except UsageError as e:
        return usage(args.command, str(e))
    except AnimGenError as e:
        print(f"animgen: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as e:
        terminated = isinstance(e, Terminated)
        print(f"animgen: {'terminated' if terminated else 'interrupted'}", file=sys.stderr)
        return 128 + (signal.SIGTERM if terminated else signal.SIGINT)
    except BrokenPipeError:  # `animgen jobs | head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error when Python flushes stdout
        return 0


if __name__ == "__main__":
    sys.exit(main())
