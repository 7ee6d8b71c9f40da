"""Portal pages: ``parent.py`` (families, on a phone) and ``agent.py`` (town agents)."""
