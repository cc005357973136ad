"""Feature blueprints."""
