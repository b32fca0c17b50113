"""Shared plumbing that is not about Party members: bulk writes with COPY and set-based
history rows, keyset pagination, the one-form step page and its refusal, and the client's
address behind proxies. Below every app; imports nothing of theirs."""
