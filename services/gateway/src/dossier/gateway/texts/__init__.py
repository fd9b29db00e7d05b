"""Page texts by audience, merged by `dossier.gateway.i18n`."""
