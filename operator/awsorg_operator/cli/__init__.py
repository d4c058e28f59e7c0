"""`awsorg-operator plan`: the operator's own survey from a terminal or a pipeline, read-only."""
