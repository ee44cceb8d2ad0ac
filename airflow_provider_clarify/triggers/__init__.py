"""Triggers of the SageMaker Clarify provider."""
