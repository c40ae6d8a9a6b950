"""``ariane serve``: the case on the web, for the responder, each controller and the regulator.

Modules: :mod:`~.run` (the command: checks, opens, runs uvicorn), :mod:`~.app` (the routes),
:mod:`~.access` (the one guard every route goes through), :mod:`~.casedata` (the open case:
queries, cached figures, the persons table), :mod:`~.views` (what pages show). The
operational state (users, sessions, login attempts) is :mod:`ariane.ops`'s.
"""
