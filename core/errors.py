class ApplicationError(Exception):
    """A business rule refused the operation. The message is for the person who asked.

    `errors` maps a field name to a list of reasons, for forms and the API.
    """

    def __init__(self, message: str, *, errors: dict | None = None, status: int = 400):
        super().__init__(message)
        self.message = message
        self.errors = errors or {}
        self.status = status
