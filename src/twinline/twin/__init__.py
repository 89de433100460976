"""twinline.twin: the line's data and the loop that learns from it.

* :mod:`~twinline.twin.store` — the database of a line (SQLAlchemy 2 with Alembic migrations;
  an SQLite file by default, PostgreSQL by URL): objects along the line, their genealogy,
  settings and measurements, trace and track;
* :mod:`~twinline.twin.kinds` — the kinds of object along the line;
* ingestion from files and OPC UA, and the simulated pilot line;
* :mod:`~twinline.twin.calibration` — the model constants the line's data correct, their
  sequential (hierarchical, drifting) Bayesian update in versions, and prediction with
  uncertainty.

This layer sits above :mod:`twinline.chain` and :mod:`twinline.learn`; nothing below imports it.
"""
