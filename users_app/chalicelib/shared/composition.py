# GENERATED from chalicelib_shared/composition.py by `make sync`. Do not edit: edit the source and run `make sync`.
"""The composition root's holder, the same in both apps.

Each app.py defines `compose(**overrides) -> Parts`: by default the deployed parts (DynamoDB through
the app's one client, the system clock, Powertools' metrics, ...), any of them replaceable by a
keyword (`repo=`, `clock=`, ...). It installs them once, at import: `root = Root(compose())`. Views
(and the users authorizer) read `root.parts`, never a module global.

Tests install their own parts the one way both apps share, and put the previous ones back:

    previous = app.root.install(app.compose(repo=InMemory...(), clock=fake_clock))
    ...                                   # every route now runs over these parts
    app.root.install(previous)

(`with app.root.installed(app.compose(...)):` does both.)
"""
import contextlib
from typing import Generic, Iterator, TypeVar

P = TypeVar("P")


class Root(Generic[P]):
    def __init__(self, parts: P) -> None:
        self.parts = parts

    def install(self, parts: P) -> P:
        """Use `parts` from now on; returns the parts they replace."""
        previous, self.parts = self.parts, parts
        return previous

    @contextlib.contextmanager
    def installed(self, parts: P) -> Iterator[P]:
        previous = self.install(parts)
        try:
            yield parts
        finally:
            self.parts = previous
