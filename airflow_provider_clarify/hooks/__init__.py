"""Hooks of the SageMaker Clarify provider."""
