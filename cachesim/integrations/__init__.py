"""Framework integrations (each in its own module, importing its framework only there).

- :mod:`cachesim.integrations.fastapi` — admin router and lifespan for FastAPI
  (``pip install 'cachesim[fastapi]'``).

For sync frameworks (Django, Flask, workers) use :class:`cachesim.sync.SyncCache`.
"""
