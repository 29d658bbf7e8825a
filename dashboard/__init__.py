"""CityGrid Command Centre: domain core (``dashboard.domain``), settings, CLI and app factory."""
__version__ = "0.1.0"
