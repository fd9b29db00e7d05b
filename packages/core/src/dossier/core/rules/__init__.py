"""Rule plugins shipped with Dossier: the default rules and an example branch plugin."""
