"""Header names every Dossier request and reply uses."""

ACTOR = "Dossier-Actor"
IDEMPOTENCY_KEY = "Idempotency-Key"
REQUEST_ID = "Dossier-Request-Id"
LOCALE = "Accept-Language"
PROOF = "Dossier-Proof"
"""A bound token's proof of possession (`dossier.messaging.tokens.Holder`)."""
