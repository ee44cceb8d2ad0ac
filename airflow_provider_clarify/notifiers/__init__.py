"""Notifiers: alerts about fairness-gate violations through the providers users already have."""
