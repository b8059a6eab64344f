"""deploy/admin.py without a stack (the integration test is tests/integration/test_admin_tool.py)."""
from pathlib import Path

import pytest

from deploy import admin


def test_admin_without_a_running_stack_explains(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert admin.main(["--email", "a@example.com", "--outputs", str(tmp_path / "missing.json")]) == 1
    assert "make up" in capsys.readouterr().err


def test_generated_passwords_meet_the_pool_policy() -> None:
    for _ in range(50):
        password = admin.generate_password()
        assert len(password) >= 8
        assert any(c.isupper() for c in password) and any(c.islower() for c in password)
        assert any(c.isdigit() for c in password) and any(not c.isalnum() for c in password)
