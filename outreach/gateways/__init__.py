"""Message gateways: one module per provider protocol, no database in them (like
billing/importers). The dispatcher maps their errors onto the outbox: temporary -> retried later
with backoff, permanent -> failed."""


class GatewayError(Exception):
    def __init__(self, message: str, *, code: str = "", temporary: bool):
        super().__init__(message)
        self.code = code
        self.temporary = temporary
