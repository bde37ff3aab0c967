"""The example shop's event simulator: a deterministic stream of events and the manifest that accounts for them."""
