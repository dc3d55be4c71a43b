"""prozess: Jepsen-style verification and chaos testing for Kafka."""

__version__ = "0.1.0"
