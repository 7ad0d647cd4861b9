"""What Link knows, one store per resource; every store guards its data with the sandbox's one lock."""
