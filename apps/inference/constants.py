"""Facts about the local demo server shared by the server and its clients, kept
apart so that clients do not import PyTriton."""

LOOPBACK = "127.0.0.1"
TOKEN_ENV = "WEFT_TRITON_ACCESS_TOKEN"
DEMO_MODEL_NAMES: tuple[str, ...] = ("ticket_urgency", "invoice_risk", "echo")
