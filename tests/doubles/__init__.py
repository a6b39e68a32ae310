"""Stand-ins for what cannot run here: a hosted chat model."""
