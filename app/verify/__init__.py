"""Verifications: issue a code by SMS, check what the person typed back."""
