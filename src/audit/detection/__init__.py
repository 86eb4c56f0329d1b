"""Running detectors over the store, keeping their findings, and gathering cases."""
