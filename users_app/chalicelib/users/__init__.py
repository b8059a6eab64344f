"""The users service: settings, validation, business rules, storage and the authorizer policy."""
