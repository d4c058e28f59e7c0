"""The Kubernetes side: kopf's handlers, the runtime they share, claims as Leases, the status
journal and the probes. Nothing here decides anything about AWS."""
