"""Mapping failures the worker must tell apart."""


class LLMUnavailableError(RuntimeError):
    """The model endpoint timed out, rate-limited or failed after the client's retries.

    Transient: the worker reschedules the event with backoff, exactly like an LMS outage,
    instead of sending every title of an outage to human review."""
