"""dossier.cli — the `dossier` command."""
