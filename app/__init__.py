"""otpgate: a self-hosted SMS one-time-code verification service."""

__version__ = "0.1.0"
