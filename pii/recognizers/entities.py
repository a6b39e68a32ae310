"""The entity types TalentSync's own recognizers report, beyond Presidio's names.

One module so that every recognizer, the deny-list and the HR-field readers spell a type
the same way.
"""

EMPLOYEE_ID = "EMPLOYEE_ID"
STREET_ADDRESS = "STREET_ADDRESS"
DATE_OF_BIRTH = "DATE_OF_BIRTH"
PERSON = "PERSON"
EMAIL_ADDRESS = "EMAIL_ADDRESS"
