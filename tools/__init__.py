"""What the agents call: HRIS adapters, LMS connectors, mapping (and later PII, titles, skills)."""
