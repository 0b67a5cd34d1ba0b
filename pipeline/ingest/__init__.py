"""Getting calls in: where their files live and how they are read."""
