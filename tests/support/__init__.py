"""Test helpers, one small module per concern; test folders hold only test modules and conftest.py."""
