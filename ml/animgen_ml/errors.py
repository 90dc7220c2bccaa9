"""Errors a user can act on. The command line prints them as one line; the server maps them to statuses."""

from __future__ import annotations


class AnimGenError(Exception):
    """A problem with the user's input or request, stated so that they know what to do."""


class InputError(AnimGenError):
    """The input (a video, a file, an option) is missing, unreadable or unusable. gRPC: INVALID_ARGUMENT."""


class Cancelled(AnimGenError):
    """The work was cancelled by the user."""
