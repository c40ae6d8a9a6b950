"""The operational database shared by the web application and the notifications.

Users, sessions, login attempts, approvals and the notices outbox: ids, statuses and hashes,
never plaintext personal data. PostgreSQL for a deployment (``--database postgresql://...``),
else an embedded SQLite file in the case directory (``ops.sqlite``, mode 0600). The schema
comes from the Alembic migrations shipped in ``migrations/``, applied on open.

Modules: :mod:`~.db` (open, migrate), :mod:`~.models` (tables), :mod:`~.users` (create,
verify a login), :mod:`~.sessions` (server-side sessions), :mod:`~.sealing` (TOTP
secrets at rest), :mod:`~.attempts` (login rate limits), :mod:`~.outbox` (lease claims).
SQLAlchemy is imported only when one of them is, so ``import ariane`` stays light.
"""
