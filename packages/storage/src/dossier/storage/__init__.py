"""dossier.storage — where Dossier keeps its data: database, audit chain, keys, objects."""
