"""django-phone-verify 3.3 as a benchmark peer (see README.md and peer.py)."""
