"""Vector search for TalentSync: offline embeddings and the Chroma role-catalog index."""
