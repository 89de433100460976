"""twinline.report."""
