"""dossier.core — the embeddable domain of Dossier (学员档案).

Records, lifecycles, student numbers, the access policy, validation hooks and
the wire format. Pure: no I/O, no clocks read behind the caller's back.
"""

__version__ = "0.1.0"
