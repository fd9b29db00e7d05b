"""dossier.messaging — the NATS adapter every Dossier service shares."""
