"""twinline.cell."""
