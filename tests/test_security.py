"""The password cost the backend ships with (the test process hashes cheaper: see conftest)."""

from __future__ import annotations

from argon2 import PasswordHasher, Type

from ekc_server import security
from tests.conftest import PRODUCTION_PASSWORD_HASHER


def test_the_backend_hashes_passwords_with_argon2id_at_the_recommended_cost() -> None:
    shipped = PRODUCTION_PASSWORD_HASHER
    assert shipped.type is Type.ID
    # RFC 9106's second recommended option (argon2-cffi's default): 3 passes over 64 MiB
    assert (shipped.time_cost, shipped.memory_cost, shipped.parallelism) >= (3, 65536, 4)
    assert shipped.hash("пароль").startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_a_hash_made_at_the_test_cost_verifies_at_the_shipped_cost() -> None:
    """A hash carries its parameters: accounts made by the tests sign in to a server
    started with `ekc-server run` too."""
    cheap = security.hash_password("пароль")
    assert cheap.startswith("$argon2id$")
    assert PRODUCTION_PASSWORD_HASHER.verify(cheap, "пароль")
    assert isinstance(security._hasher, PasswordHasher) and security._hasher.time_cost == 1
