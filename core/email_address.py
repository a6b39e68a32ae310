"""``EmailAddress``: pydantic's ``EmailStr`` (email-validator's rules and normalized form),
answered without email-validator for the plain addresses that are nearly all of them.

Why: email-validator spends about 160 us per address (Unicode and IDNA checks character
by character), about a tenth of what a webhook delivery cost. For an address made only
of ASCII dot-atom characters with an ordinary host name, its answer is known in advance:
valid, with the domain lower-cased. ``plain_normalized`` recognises exactly such
addresses, conservatively; everything else (Unicode, quotes, display names, IP literals,
special-use or reserved names, RFC 2142 role mailboxes, any limit approached, anything
odd) goes to email-validator as before, so each refusal and its message are unchanged.
``tests/unit/test_email_address.py`` holds the two answers to each other.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final

import email_validator
from email_validator import rfc_constants
from pydantic import EmailStr

_ATOM: Final = r"[A-Za-z0-9_!#$%&'*+\-/=?^`{|}~]+"
"""RFC 5322 atext, as email-validator's ``ATEXT``."""
_LABEL: Final = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
"""A host name label: letters, digits, inner hyphens, at most 63 characters."""
_PLAIN: Final = re.compile(
    rf"(?P<local>{_ATOM}(?:\.{_ATOM})*)@(?P<domain>(?:{_LABEL}\.)+[A-Za-z]{{2,63}})"
)
_LOCAL_MAX: Final = 64  # RFC 5321; email-validator enforces it only in strict mode
_DOMAIN_MAX: Final = 253
_EMAIL_MAX: Final = 254


def plain_normalized(value: str) -> str | None:
    """What email-validator would answer for ``value`` if it is a plain address, else
    ``None`` (not "invalid": undecided, ask email-validator)."""
    match = _PLAIN.fullmatch(value)
    if match is None or len(value) > _EMAIL_MAX:
        return None
    local, domain = match.group("local", "domain")
    domain = domain.lower()  # what IDNA's UTS 46 mapping does to ASCII letters
    if (
        len(local) > _LOCAL_MAX
        or len(domain) > _DOMAIN_MAX
        or "--" in domain  # "ab--" labels are refused unless Punycode, which is decoded
        or local.lower() in rfc_constants.CASE_INSENSITIVE_MAILBOX_NAMES  # lower-cased
    ):
        return None
    # read at call time: email-validator lets a program change the list (and the test
    # environment flag, which only ever admits more, so falling back stays exact)
    for special in email_validator.SPECIAL_USE_DOMAIN_NAMES:
        if domain == special or domain.endswith("." + special):
            return None
    return f"{local}@{domain}"


if TYPE_CHECKING:  # pydantic types EmailStr as str for checkers, and so do we
    EmailAddress = EmailStr
else:

    class EmailAddress(EmailStr):
        """``EmailStr`` with the same schema, rules, errors and normalized value; a plain
        address skips email-validator (see the module docstring)."""

        @classmethod
        def _validate(cls, input_value: str, /) -> str:
            normalized = plain_normalized(input_value)
            if normalized is not None:
                return normalized
            return super()._validate(input_value)
