"""Review policy: which changes wait for people, and how many of them."""
