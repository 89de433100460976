"""Ingestion of the line's data: files (:mod:`.files`) and OPC UA (:mod:`.opcua`), both
through :mod:`.parameters` (what a parameter is and its SI unit)."""
