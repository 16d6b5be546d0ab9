"""Message templates per app, purpose and locale, reviewed where the providers review them:
rules checked when saved, submitted to Alibaba's and Tencent's template APIs, their
reviewers' answers followed, and only approved templates sent (from memory)."""
