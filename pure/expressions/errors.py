"""The one error every expression problem becomes: bad syntax, an undefined name, a sandbox
escape attempt, a limit. The automation engine turns it into a failed step whose message is
`message`; it never carries a Python object, only text."""


class ExpressionError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
