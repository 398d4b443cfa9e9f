"""Errors a user can act on: each says what is wrong and, in ``hint``, what to do about it.

Raised where a problem is found (the reader, the registry lookup, a configuration file);
``flrisk`` turns any of them into one or two plain lines and a non-zero exit
(``pipelines/cli_errors.py``), and a server into its own status. Concrete errors keep their
built-in base too (``ContractError`` is still a ``ValueError``), so older callers that catch
those go on working.
"""

from __future__ import annotations


class UserError(Exception):
    """A problem the user can fix: the message says what is wrong, ``hint`` what to do.

    Attributes:
        hint: One sentence on what to do; subclasses set a default, a raise may override it.
    """

    hint: str = ""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint

    def headline(self) -> str:
        """The message in one line (the first line of a longer message)."""
        return str(self).strip().splitlines()[0] if str(self).strip() else type(self).__name__
