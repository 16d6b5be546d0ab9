"""A minimal Django project serving django-phone-verify's API, for bench/peer_flow.py."""
