"""The errors awslb raises, and the exit code each one means (DESIGN.md, exit codes)."""

from __future__ import annotations

OK = 0
FAILED = 1          # the operation failed (AWS said no); the ledger holds what was done
USAGE = 2           # a bad flag
CHANGES_PENDING = 3  # `plan --exit-code` with changes pending
INVALID_INPUT = 4   # a bad stack file or input value; nothing was sent to AWS


class AwslbError(Exception):
    """Base of every error awslb reports as one line, without a traceback."""

    exit_code = FAILED

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(AwslbError):
    """A flag is missing, malformed or contradicts another flag."""

    exit_code = USAGE


class InputError(AwslbError):
    """A stack file, a template variable or another input value is invalid."""

    exit_code = INVALID_INPUT


class AwsError(AwslbError):
    """AWS refused a call. Carries the operation, the AWS error code and a hint."""

    exit_code = FAILED

    def __init__(self, operation: str, code: str, message: str, hint: str | None = None):
        super().__init__(f"{operation}: {code}: {message}", hint)
        self.operation = operation
        self.code = code
        self.aws_message = message


class StepFailed(AwslbError):
    """One or more plan steps failed; the run stopped and saved the ledger."""

    exit_code = FAILED
