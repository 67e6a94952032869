"""The password policy, applied wherever a password is chosen (signup, invitation
acceptance, reset, change): a minimum length, an upper bound, and not one of the most
common passwords. Hashing itself (argon2id) lives in core.security."""

from functools import lru_cache
from pathlib import Path

from core.errors import Unprocessable
from core.security import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH

# Shipped with the code (package data of ``core``), found beside it at run time.
COMMON_PASSWORDS_FILE = (
    Path(__file__).resolve().parents[1] / "core" / "data" / "common-passwords.txt"
)

TOO_COMMON = "is one of the most commonly used passwords; choose another"


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip())


def password_problem(password: str) -> str | None:
    """Why ``password`` may not be chosen, or None when it may."""
    if len(password) < PASSWORD_MIN_LENGTH:
        return f"must be at least {PASSWORD_MIN_LENGTH} characters long"
    if len(password) > PASSWORD_MAX_LENGTH:
        return f"must be at most {PASSWORD_MAX_LENGTH} characters long"
    # Case does not make a listed password any harder to guess.
    if password.strip().lower() in common_passwords():
        return TOO_COMMON
    return None


def ensure_acceptable(password: str, *, pointer: str = "/password") -> None:
    problem = password_problem(password)
    if problem is not None:
        raise Unprocessable(
            f"The new password {problem}", errors=[{"detail": problem, "pointer": pointer}]
        )
