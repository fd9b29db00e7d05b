"""dossier.intake — registrations (报名) to admitted dossiers (学员档案).

`dossier.intake.handlers.Intake` holds the use cases, callable in-process
(this is what an embedding application calls); `dossier.intake.service` maps
them onto NATS endpoints ``dossier.intake.<verb>``.
"""
