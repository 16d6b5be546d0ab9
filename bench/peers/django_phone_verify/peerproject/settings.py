"""Settings of the peer: django-phone-verify as its docs set it up, tuned for throughput.

Everything the bench varies comes from the environment that ``peer.py`` sets:
``PEER_DB`` (the SQLite file), ``PEER_OUTBOX_URL`` (the Redis the recording backend
writes each message to) and ``PEER_SECRET_KEY``.
"""

import os

SECRET_KEY = os.environ["PEER_SECRET_KEY"]
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

# Only what the two endpoints use: no admin, sessions, auth or messages.
INSTALLED_APPS = ["rest_framework", "phonenumber_field", "phone_verify"]
# CommonMiddleware (in every startproject) sets Content-Length; without it each answer is
# sent chunked, which measured costlier for the server and the client alike.
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
ROOT_URLCONF = "peerproject.urls"
WSGI_APPLICATION = "peerproject.wsgi.application"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ["PEER_DB"],
        # One connection per worker thread for its whole life.
        "CONN_MAX_AGE": None,
        "OPTIONS": {
            # WAL: readers never wait for the writer; NORMAL: no fsync per commit (the
            # usual pairing with WAL, durable up to the last checkpoint).
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            # Take the write lock at BEGIN, so concurrent writers queue on the busy
            # timeout instead of failing with "database is locked" on upgrade.
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        },
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

USE_I18N = False
USE_TZ = True
TIME_ZONE = "UTC"

# The API's views are AllowAny: no authentication classes to run, JSON in and out only.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "UNAUTHENTICATED_USER": None,
}

PHONE_VERIFICATION = {
    "BACKEND": "peerproject.backend.RecordingBackend",
    "OPTIONS": {"URL": os.environ["PEER_OUTBOX_URL"]},
    "TOKEN_LENGTH": 6,
    "MESSAGE": "Your {app} code is {security_code}.",
    "APP_NAME": "bench",
    # The 3.x name; SECURITY_CODE_EXPIRATION_TIME still works but warns on every check.
    "SECURITY_CODE_EXPIRATION_SECONDS": 600,
    # Single-use codes, as otpgate's are.
    "VERIFY_SECURITY_CODE_ONLY_ONCE": True,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["stderr"], "level": "WARNING"},
}
