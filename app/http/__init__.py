"""The HTTP edge: problem documents, the OpenAPI contract and its docs page, requests."""
