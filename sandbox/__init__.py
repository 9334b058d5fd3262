"""Where model-written code runs, isolated. Knows nothing of tools or agents."""
