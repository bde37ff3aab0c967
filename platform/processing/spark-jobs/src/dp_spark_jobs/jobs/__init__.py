"""The jobs: one module per layer, each a thin edge over pure DataFrame transforms."""
