"""Server limits: defaults, overridable by flag or environment, reported by GetServerInfo."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from animgen_ml.errors import InputError, UsageError

MAX_CHUNK_BYTES = 3 * 1024 * 1024  # the largest upload chunk accepted (the protocol says "well under 4 MiB")
CLIENT_CHUNK_BYTES = 1024 * 1024  # what our clients send
MAX_MESSAGE_BYTES = 64 * 1024 * 1024  # the largest message sent (GetResult's clip); every client accepts this much
# HTTP/2 pings while a call is open, so that a connection that went dead without a word (a laptop asleep, a NAT or
# a host gone) ends the call instead of leaving a watch waiting for ever. Our clients ping every CLIENT_PING_S
# and give up after CLIENT_PING_S / 3 without an answer; the server accepts pings that often and pings idle
# clients itself, so that a dead watcher's stream ends too.
CLIENT_PING_S = 30.0
SERVER_MIN_PING_S = 20.0
SERVER_PING_S = 60.0
# StartJob's RESOURCE_EXHAUSTED for a full queue carries this trailing metadata, when to try again (ms). Its other
# RESOURCE_EXHAUSTED answers (a video too long, a full disk) do not: trying again would not help them.
RETRY_AFTER_KEY = "animgen-retry-after-ms"
QUEUE_RETRY_AFTER_MS = 5000

# `animgen serve` flag dest -> (environment variable, type, default, lowest, highest). Read when serve runs, not when
# the parser is built, so that a bad value stops only `animgen serve`, with its name. The ranges keep every value a
# finite number that the store's integer columns hold (an expiry of 1e12 days could not be compared in SQLite).
LIMIT_DEFAULTS = {
    "workers": ("ANIMGEN_WORKERS", int, 1, 1, 256),
    "max_upload_mb": ("ANIMGEN_MAX_UPLOAD_MB", float, 500.0, 1e-3, 1e6),
    "max_video_seconds": ("ANIMGEN_MAX_VIDEO_SECONDS", float, 600.0, 1e-3, 1e6),
    "max_queued": ("ANIMGEN_MAX_QUEUED", int, 64, 0, 100_000),
    "upload_expiry_hours": ("ANIMGEN_UPLOAD_EXPIRY_HOURS", float, 24.0, 1 / 3600, 24 * 3650),
    "result_expiry_days": ("ANIMGEN_RESULT_EXPIRY_DAYS", float, 30.0, 1 / 86400, 3650),
}


def limit_value(dest: str, given: float | None) -> float:
    """A limit flag's value: the flag when given, else its environment variable, else the default. Out of range (or
    NaN) stops `animgen serve` with one line naming the flag and, when the value came from there, the variable: a
    UsageError for the flag's (exit 2), an InputError for the variable's (exit 1)."""
    var, kind, default, low, high = LIMIT_DEFAULTS[dest]
    source = "--" + dest.replace("_", "-")
    error: type[InputError] = UsageError
    if given is None:
        raw = os.environ.get(var)
        if raw is None:
            return default
        source, error = f"{source} (environment variable {var}={raw!r})", InputError
        try:
            given = kind(raw)
        except ValueError:
            raise error(f"{source} must be {'a whole number' if kind is int else 'a number'}") from None
    if not (math.isfinite(given) and low <= given <= high):
        raise error(f"{source} must be between {low:.3g} and {high:.3g}, got {given:g}")
    return given


@dataclass(frozen=True)
class Limits:
    max_upload_bytes: int = int(500 * 1024 * 1024)
    max_video_seconds: float = 600.0
    max_concurrent_jobs: int = 1
    max_queued_jobs: int = 64
    upload_expiry_seconds: int = 24 * 3600
    result_expiry_seconds: int = 30 * 24 * 3600
    max_chunk_bytes: int = MAX_CHUNK_BYTES

    def check(self) -> Limits:
        if self.max_upload_bytes <= 0:
            raise ValueError("--max-upload-mb must be > 0")
        if self.max_video_seconds <= 0:
            raise ValueError("--max-video-seconds must be > 0")
        if self.max_concurrent_jobs < 1:
            raise ValueError("--workers must be >= 1")
        if self.max_queued_jobs < 0:
            raise ValueError("--max-queued must be >= 0")
        if self.upload_expiry_seconds <= 0:
            raise ValueError("--upload-expiry-hours must be > 0")
        if self.result_expiry_seconds <= 0:
            raise ValueError("--result-expiry-days must be > 0")
        return self
