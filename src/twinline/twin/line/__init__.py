"""The simulated pilot line: an OPC UA server fed by twinline's own chain (:mod:`.simulate`)."""
