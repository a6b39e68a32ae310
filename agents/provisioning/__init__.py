"""The provisioning graph: HRIS event -> scrubbed view -> mappings -> plan -> review -> LMS."""
