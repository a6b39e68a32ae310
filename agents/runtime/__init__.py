"""Running the graphs: the composition root, workers, checkpointer, replay, erasure, retention."""
