"""HTTP plumbing shared by the platform's services: JSON errors with a request id, request-id middleware, Prometheus text, serve."""
