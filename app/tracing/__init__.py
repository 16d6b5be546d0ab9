"""OpenTelemetry traces: their settings (``config``), the spans of a request's work
(``spans``, a leaf every layer may use) and the exporter the app opens (``exporter``)."""
