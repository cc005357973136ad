"""Load test of the whole portal (``make load``): Locust against gunicorn, embedded and scaled mode."""
