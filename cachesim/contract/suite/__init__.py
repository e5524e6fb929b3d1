"""The contract tests, one module per area of ``CONTRACT.md``.

Run them with ``pytest --pyargs cachesim.contract --cache-provider SPEC``; every
test cites its clauses with ``@clause`` and its capabilities with ``@requires``.
"""
