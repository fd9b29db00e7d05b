"""Dossier's HTTP gateway (网关): pages for students and staff over the services' NATS requests."""
