"""The users service: settings, models (what requests may say), service (business rules),
repository (storage), render (the user document) and auth (the authorizer's policy).
`app.py` is the composition root."""
