"""The AWS side: one module per service, nothing about Kubernetes."""
