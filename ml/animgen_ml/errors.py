"""Errors a user can act on. The command line prints them as one line; the server maps them to statuses."""

from __future__ import annotations


class AnimGenError(Exception):
    """A problem with the user's input or request, stated so that they know what to do."""


class InputError(AnimGenError):
    """The input (a video, a file, an option) is missing, unreadable or unusable. gRPC: INVALID_ARGUMENT."""


class UsageError(InputError):
    """An option given on the command line is wrong: the command cannot run as given (exit 2, as argparse's own
    errors). The same value from an environment variable is an InputError (exit 1)."""


class Cancelled(AnimGenError):
    """The work was cancelled by the user."""
