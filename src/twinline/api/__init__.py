"""twinline.api: the server (``twinline serve``) — a FastAPI app with the REST API under
``/api/v1`` for line systems and the browser pages people use (calculator, catalogue
explorer, 3D viewer, study and design, line dashboard), all served by the package (no CDN).

Top layer beside :mod:`twinline.cli`: it may import every layer below; nothing imports it.
"""
