"""Operators of the SageMaker Clarify provider."""
