"""The mapping tables' value functions, each implemented in both directions.

``registry.py`` names them; ``values.py`` closed vocabularies and IP addresses; ``render.py``
and ``query.py`` the render (event) and query (rule) sides of the string-shaped functions;
``tree.py`` the building blocks their query sides share.
"""

from __future__ import annotations
