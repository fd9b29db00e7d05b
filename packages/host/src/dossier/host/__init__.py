"""Runs Dossier's processes (进程宿主): the configuration file, the database, the NATS
connection and the object store wired together, the same way for every process.

It sits between the services and the layers they stand on: ``dossier.messaging``
knows NATS and nothing of storage, ``dossier.storage`` knows the database and
nothing of NATS; the host joins them (the outbox relay, a lost database answered
as ``storage_error``, health checks) so that neither has to know the other.
"""
