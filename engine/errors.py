"""Errors the engine raises, each named for what the caller must do.

    EngineError                      root: every engine failure is one of these
    ├── NotFound
    │   ├── CaseNotFound             no case with that id (or not visible to the user)
    │   ├── TaskNotFound             no open task with that id (or not visible to the user)
    │   ├── ProcessNotFound          no deployed process with that id
    │   ├── DatasetNotFound          no dataset with that id in the resource catalog
    │   ├── UserNotFound             no user with that name
    │   └── GroupNotFound            no group with that name
    ├── BpmnValidationError          a BPMN file cannot be deployed; names file, element, line
    ├── InvalidTaskData              submitted form data fails the task's schema
    │   └── InvalidCatalog           a catalog file or dataset is malformed; names row and field
    ├── InvalidInput                 an administrator's entry is malformed; correct it
    ├── AttachmentRejected           a file is empty, too large or not an accepted type
    ├── InvalidToken                 an API bearer token is missing, unknown or revoked
    ├── NotAllowed                   the user may not act on this task or case
    ├── Conflict                     someone else changed the case first; reload and retry
    │   └── TaskAlreadyClaimed       another user holds the claim
    ├── CaseNotRetryable             retry asked of a case that has no incident
    ├── CalendarNotCovered           a date lies outside every working-day calendar
    ├── CalendarDataError            a calendar year file is malformed
    ├── MessageNotDelivered          no case (or more than one) waits for a message
    ├── InvalidMessage               a message lacks what its receiver correlates on
    └── ScriptError                  a BPMN script broke a sandbox rule, timed out or failed

`web/` and the CLI turn these into responses in one place; `code` is the stable
machine-readable name used in JSON errors.
"""

from __future__ import annotations


class EngineError(Exception):
    """Base class of every error the engine raises on purpose."""

    code = "engine_error"

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, object]:
        return {"code": self.code, "message": self.message, **self.details}


class NotFound(EngineError):
    code = "not_found"


class CaseNotFound(NotFound):
    code = "case_not_found"


class TaskNotFound(NotFound):
    code = "task_not_found"


class ProcessNotFound(NotFound):
    code = "process_not_found"


class DatasetNotFound(NotFound):
    code = "dataset_not_found"


class UserNotFound(NotFound):
    code = "user_not_found"


class GroupNotFound(NotFound):
    code = "group_not_found"


class InvalidInput(EngineError):
    """An administrator's entry (user, group, reason, case data) is malformed."""

    code = "invalid_input"


class BpmnValidationError(EngineError):
    """Raised when a BPMN file cannot be parsed or validated.

    Carries `file`, `element` (an element id, when known) and `line` (when known),
    so an editor can point at the element instead of showing a stack trace.
    """

    code = "bpmn_invalid"

    def __init__(
        self, message: str, *, file: str | None = None, element: str | None = None,
        line: int | None = None,
    ) -> None:
        where = ", ".join(
            part for part in (
                file,
                f"element {element}" if element else None,
                f"line {line}" if line else None,
            ) if part
        )
        super().__init__(f"{where}: {message}" if where else message,
                         file=file, element=element, line=line)
        self.reason = message
        self.file, self.element, self.line = file, element, line


class InvalidTaskData(EngineError):
    """Raised when submitted data fails validation; `errors` maps field path to message."""

    code = "invalid_task_data"

    def __init__(self, message: str, errors: dict[str, str]) -> None:
        super().__init__(message, errors=errors)
        self.errors = errors


class InvalidCatalog(InvalidTaskData):
    """Raised when catalog records are malformed; `errors` maps "row N.field" to message."""

    code = "invalid_catalog"


class AttachmentRejected(EngineError):
    """Raised when a file is too large, empty, or not one of the accepted types."""

    code = "attachment_rejected"


class InvalidToken(EngineError):
    """Raised when a bearer token is missing, unknown, revoked, or its user is inactive."""

    code = "invalid_token"


class NotAllowed(EngineError):
    code = "not_allowed"


class Conflict(EngineError):
    code = "conflict"


class ReminderTooSoon(Conflict):
    """A task was reminded by hand a short while ago; wait before reminding again."""

    code = "reminder_too_soon"


class TaskAlreadyClaimed(Conflict):
    code = "task_already_claimed"


class CaseNotRetryable(EngineError):
    code = "case_not_retryable"


class CalendarNotCovered(EngineError):
    """Raised when a date lies outside chinesecalendar and the administrators' table."""

    code = "calendar_not_covered"

    def __init__(self, message: str, *, year: int) -> None:
        super().__init__(message, year=year)
        self.year = year


class CalendarDataError(EngineError):
    code = "calendar_data_invalid"


class ScriptError(EngineError):
    """Raised by the sandbox: forbidden construct, time limit, or a failing expression."""

    code = "script_error"


class MessageNotDelivered(EngineError):
    """Raised when no running case waits for a message and no process starts on it, or
    when several cases would match: a message is never dropped and never guessed.
    Inside a step, `task` is the send task, and the sending case gets an incident."""

    code = "message_not_delivered"

    def __init__(self, message: str, *, task: object = None) -> None:
        super().__init__(message)
        self.task = task


class InvalidMessage(EngineError):
    code = "invalid_message"
