"""Domain services: plain Python, no ``request``, no templates."""
