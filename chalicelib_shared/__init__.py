"""Code shared by users_app and orders_app.

Edit it here only: `make sync` copies it into each app's `chalicelib/shared/`.
Imports inside this package are relative, so the same files work as `chalicelib.shared`.
The package import itself is empty on purpose: each module is imported only where it is used,
so an app pays (at cold start) only for what it needs.
"""
