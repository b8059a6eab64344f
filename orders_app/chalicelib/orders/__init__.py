"""The orders service: models (validation), service (business rules), repository (storage),
idempotency wiring and observability. `app.py` is the composition root."""
