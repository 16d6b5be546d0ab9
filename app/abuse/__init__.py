"""Throttles and anti-abuse: rate limits, geo and number-type policy, SMS-pumping guards."""
