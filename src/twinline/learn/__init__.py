"""twinline.learn."""
