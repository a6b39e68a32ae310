"""The recognizers TalentSync adds to (or tunes in) Presidio for HR text.

Presidio's defaults were measured on HR sentences: no employee ids, no street addresses, job
titles read as people or organisations, bare first names missed (each gap is a case in
tests/unit/test_pii_recognizers.py; `talentsync eval pii` measures the whole set). Each
recognizer here closes one of those gaps with general patterns plus context words, never with
values copied from an evaluation set.

One module per gap, and `default_recognizers` (here) assembles the standard set:

- `prechecked`: cheap pre-checks that let pattern recognizers skip texts they cannot match,
  and Presidio's email, SSN, card, IBAN and IP recognizers so gated;
- `employee_ids`, `addresses` (streets and postcodes), `dates_of_birth`, `payment_cards`,
  `phones`, `contacts_and_ids` (numbers as dialled, contact cues, identity documents);
- people: `spacy_ner` (NER minus job titles and ordinary words), `gazetteer_names` (known
  given and family names), `name_cues` ("my name is ..."), `person_refinement` (fixes
  once every recognizer has run: firm names, lists, repeated mentions);
- `record_deny_list`: the record's own values, added per call, never registered;
- `entities`: the entity types the recognizers above introduce; `results`: how those that
  build their findings by hand report them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from presidio_analyzer import EntityRecognizer, Pattern

from pii.recognizers.addresses import postcode_recognizer, street_address_recognizer
from pii.recognizers.contacts_and_ids import contact_and_id_recognizers
from pii.recognizers.dates_of_birth import date_of_birth_recognizer
from pii.recognizers.employee_ids import employee_id_recognizer
from pii.recognizers.entities import PERSON
from pii.recognizers.gazetteer_names import GazetteerNameRecognizer
from pii.recognizers.name_cues import name_cue_recognizer
from pii.recognizers.payment_cards import LuhnCardRecognizer
from pii.recognizers.phones import PHONE_REGIONS, phone_recognizers
from pii.recognizers.prechecked import (
    HRCreditCardRecognizer,
    HREmailRecognizer,
    HRIbanRecognizer,
    HRIpRecognizer,
    HRUsSsnRecognizer,
)
from pii.recognizers.spacy_ner import HRSpacyRecognizer


def default_recognizers(
    employee_id_patterns: Sequence[Pattern] | None = None,
    phone_regions: Sequence[str] = PHONE_REGIONS,
) -> list[EntityRecognizer]:
    """Everything the analyzer runs for every text (the deny-list is added per call)."""
    recognizers: list[EntityRecognizer] = [
        HRSpacyRecognizer(supported_entities=[PERSON, "LOCATION", "DATE_TIME"]),
        GazetteerNameRecognizer(),
        name_cue_recognizer(),
        HREmailRecognizer(name="EmailRecognizer"),
        *phone_recognizers(phone_regions),
        HRUsSsnRecognizer(name="UsSsnRecognizer"),
        HRCreditCardRecognizer(name="CreditCardRecognizer"),
        LuhnCardRecognizer(),
        postcode_recognizer(),
        HRIbanRecognizer(name="IbanRecognizer"),
        HRIpRecognizer(name="IpRecognizer"),
        employee_id_recognizer(employee_id_patterns),
        street_address_recognizer(),
        date_of_birth_recognizer(),
        *contact_and_id_recognizers(),
    ]
    return recognizers


def supported_entities(recognizers: Iterable[EntityRecognizer]) -> list[str]:
    return sorted({entity for r in recognizers for entity in r.supported_entities})
