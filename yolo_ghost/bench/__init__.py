"""The benchmark: train, score, profile and time several configs over seeds, and report each difference with its
interval (``runner.py`` runs it, ``tasks.py`` declares what differs per task, ``files.py`` checks a bench folder,
``stats.py`` and ``report.py`` turn results into tables and figures)."""
