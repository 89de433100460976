"""twinline.process."""
