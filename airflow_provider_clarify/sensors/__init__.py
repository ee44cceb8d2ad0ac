"""Sensors of the SageMaker Clarify provider."""
