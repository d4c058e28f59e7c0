"""awsorg-operator: AWS Organizations' Audit Manager integration, declared in Kubernetes."""

__version__ = "0.1.0"
