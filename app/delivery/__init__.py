"""Delivery reports from providers, events to apps, statistics."""
