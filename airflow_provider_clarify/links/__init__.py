"""Links of the SageMaker Clarify provider."""
