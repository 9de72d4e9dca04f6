"""What the numbers mean: definitions, the engine, OKR scoring."""
