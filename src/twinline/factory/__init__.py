"""twinline.factory: the production view — material flows and yield, energy, throughput
(discrete-event simulation), cost, CO₂ per kWh and a battery-passport record.

This layer sits above :mod:`twinline.chain` (it reads a run's products and cell) beside
:mod:`twinline.twin`; nothing below imports it.
"""
