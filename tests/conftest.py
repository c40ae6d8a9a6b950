"""Shared fixtures: every test runs with its own key folder and no passphrase.

(Shared by all test modules: keep it small.)
"""

import pytest


@pytest.fixture(autouse=True)
def _isolated_keys(tmp_path_factory, monkeypatch):
    """Key files go to a per-test folder outside any case; no passphrase unless a test sets one."""
    monkeypatch.setenv("ARIANE_KEY_DIR", str(tmp_path_factory.mktemp("keys")))
    monkeypatch.delenv("ARIANE_KEY", raising=False)
