"""``EmailAddress`` answers exactly what pydantic's ``EmailStr`` answers: the same value for
every address it accepts, the same refusal (type and message) for every one it refuses,
whether or not the plain-address shortcut decided it."""

from __future__ import annotations

import random

import email_validator
import pytest
from pydantic import BaseModel, EmailStr, ValidationError

from core.email_address import EmailAddress, plain_normalized


class Slow(BaseModel):
    email: EmailStr


class Fast(BaseModel):
    email: EmailAddress


def outcome(model: type[BaseModel], value: object) -> tuple[str, str]:
    try:
        return "ok", str(model.model_validate({"email": value}).model_dump()["email"])
    except ValidationError as error:
        (problem,) = error.errors(include_url=False)
        return "refused", f"{problem['type']}: {problem['msg']}"


CRAFTED = [
    # plain, as HR systems send them
    "ada@example.com",
    "Ada.Lovelace@Example.COM",
    "first.last+tag@mail.acme-corp.co.uk",
    "o'brien@example.ie",
    "x_y-z{1}|~^`?=/*&%$#!@example.org",
    "a@b.cd",
    # what the shortcut must leave to email-validator (valid or not)
    "postmaster@example.com",
    "Abuse@Example.com",
    "user@localhost",
    "user@host.local",
    "user@printer.internal.arpa",
    "user@mail.invalid",
    "user@example.test",
    "user@x.onion",
    "user@ab--cd.com",
    "user@xn--bcher-kva.example",
    "user@XN--BCHER-KVA.example",
    "user@bücher.example",
    "jörg@example.com",
    "user@example.c0m",
    "user@example.com1",
    "user@example.c",
    "user@123.com",
    "user@[192.0.2.1]",
    '"quoted local"@example.com',
    "Ada <ada@example.com>",
    "ada@example.com ",
    " ada@example.com",
    "ada @example.com",
    "ada@-example.com",
    "ada@example-.com",
    "ada@exa_mple.com",
    "ada@example..com",
    "ada..b@example.com",
    ".ada@example.com",
    "ada.@example.com",
    "ada@.example.com",
    "ada@example.com.",
    "@example.com",
    "ada@",
    "ada",
    "",
    "ada@@example.com",
    "ada@example@com",
    "ada\x00@example.com",
    "ada\n@example.com",
    "ada@exam\u200bple.com",
    "\uff41\uff44\uff41@example.com",  # fullwidth letters
    "ada@\uff45xample.com",
    "l" * 64 + "@example.com",
    "l" * 65 + "@example.com",
    "ada@" + "d" * 63 + ".com",
    "ada@" + "d" * 64 + ".com",
    "ada@" + ".".join(["d" * 60] * 4) + ".com",
    "l" * 64 + "@" + ".".join(["d" * 60] * 3) + ".com",
    "ada@example." + "c" * 63,
    "ada@example." + "c" * 64,
    12345,
]


@pytest.mark.parametrize("value", CRAFTED, ids=range(len(CRAFTED)))
def test_the_same_answer_as_email_str(value: object) -> None:
    assert outcome(Fast, value) == outcome(Slow, value)


def test_the_shortcut_decides_plain_addresses() -> None:
    """Not vacuous: the common shape is decided without email-validator, and the odd ones
    are left to it."""
    assert plain_normalized("Ada.Lovelace@Example.COM") == "Ada.Lovelace@example.com"
    for undecided in ("postmaster@example.com", "u@x.local", "u@ab--c.com", "jörg@x.com"):
        assert plain_normalized(undecided) is None


def test_random_addresses_agree() -> None:
    """Thousands of near-plain addresses (the shortcut's borderline, seeded): whenever the
    shortcut answers, email-validator gives that very answer."""
    rng = random.Random(20261207)

    def text(plain: str, odd: str, longest: int) -> str:
        return "".join(
            rng.choice(odd if rng.random() < 0.04 else plain)
            for _ in range(rng.randint(0, longest))
        )

    decided = 0
    for _ in range(6000):
        local = text("aAzZ09._-+'", '@!#~ ü\u200b[]"<>\x00', 12)
        labels = [text("abcXYZ019-", "_.ü@ ", 8) for _ in range(rng.randint(1, 4))]
        labels.append(rng.choice(["com", "org", "local", "test", "arpa", "c", "c0", "COM"]))
        value = f"{local}@{'.'.join(labels)}"
        assert outcome(Fast, value) == outcome(Slow, value), value
        decided += plain_normalized(value) is not None
    assert decided > 300  # the comparison covered the shortcut, not only the fallback


def test_a_changed_special_use_list_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    special = [*email_validator.SPECIAL_USE_DOMAIN_NAMES, "corp"]
    monkeypatch.setattr(email_validator, "SPECIAL_USE_DOMAIN_NAMES", special)
    assert outcome(Fast, "ada@mail.corp") == outcome(Slow, "ada@mail.corp")
    assert outcome(Fast, "ada@mail.corp")[0] == "refused"


def test_the_schema_is_email_str_s() -> None:
    assert Fast.model_json_schema()["properties"]["email"] == {
        **Slow.model_json_schema()["properties"]["email"]
    }
