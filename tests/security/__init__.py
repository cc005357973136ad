"""The security suite (issue 8, item 5): CSRF, sessions, headers, uploads, object ownership and fuzzing,
each generated from ``app.url_map`` so that a new route is covered as soon as it exists."""
