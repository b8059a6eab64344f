"""The orders service: settings, models (what requests may say), service (business rules),
repository (storage), render (the order document) and idempotency (Powertools' wiring).
`app.py` is the composition root."""
