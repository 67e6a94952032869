"""core.security: argon2id passwords, the dummy-hash path of an unknown login, and the
shape of bearer tokens."""

import hashlib

import argon2
import pytest
from argon2 import PasswordHasher

from core import security

PASSWORD = "a long enough password"


def test_hash_is_argon2id_and_verifies() -> None:
    digest = security.hash_password(PASSWORD)
    assert digest.startswith("$argon2id$")
    assert PASSWORD not in digest
    assert security.verify_password(digest, PASSWORD)
    assert not security.verify_password(digest, PASSWORD + "x")
    assert not security.password_needs_rehash(digest)


def test_same_password_hashes_differently_each_time() -> None:
    assert security.hash_password(PASSWORD) != security.hash_password(PASSWORD)


@pytest.mark.parametrize("broken", ["", "not a hash", "$argon2id$v=19$m=1,t=1,p=1$AAAA$BBBB"])
def test_malformed_hash_is_a_failed_verification(broken: str) -> None:
    assert not security.verify_password(broken, PASSWORD)


def test_weaker_hash_needs_rehash() -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
    assert security.password_needs_rehash(weak)
    assert security.verify_password(weak, PASSWORD)


def test_unknown_user_runs_a_real_argon2_verification(monkeypatch: pytest.MonkeyPatch) -> None:
    """verify_password(None, ...) must cost what a wrong password costs: one argon2id
    verification against a hash made with the same parameters as real ones. The spy wraps
    argon2 (third-party) and still runs the real verification."""
    verified: list[str] = []
    real_verify = PasswordHasher.verify

    def spy(self: PasswordHasher, hash: str | bytes, password: str | bytes) -> bool:
        verified.append(hash if isinstance(hash, str) else hash.decode())
        return real_verify(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", spy)

    assert security.verify_password(None, PASSWORD) is False
    assert len(verified) == 1
    real = argon2.extract_parameters(security.hash_password(PASSWORD))
    assert argon2.extract_parameters(verified[0]) == real

    known = security.hash_password(PASSWORD)
    verified.clear()
    assert security.verify_password(known, "wrong password here") is False
    assert verified == [known]


def test_new_token_has_kind_prefix_and_stores_only_sha256() -> None:
    token, prefix, digest = security.new_token(security.API_TOKEN_PREFIX)
    assert token.startswith("ffp_")
    assert prefix == token[:10]
    assert len(token) > 40
    assert digest == hashlib.sha256(token.encode()).hexdigest()
    assert digest == security.hash_token(token)
    assert token not in digest


def test_tokens_are_unique() -> None:
    tokens = {security.new_token(security.SESSION_PREFIX)[0] for _ in range(100)}
    assert len(tokens) == 100


def test_constant_time_equals() -> None:
    assert security.constant_time_equals("abc", "abc")
    assert not security.constant_time_equals("abc", "abd")
    assert not security.constant_time_equals("abc", "abcd")
