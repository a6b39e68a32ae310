"""Job-title understanding: normalisation and ranking against the LMS role catalog."""
