"""Dev-mode only routes."""
