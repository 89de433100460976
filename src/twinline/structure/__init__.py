"""twinline.structure."""
