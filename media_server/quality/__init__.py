"""Connection quality: `scoring` (pure functions over windows of samples) and
`monitor` (samples every publication and subscription on an interval)."""
