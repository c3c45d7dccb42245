"""Training and evaluation on the ultralytics engine: what both tasks share (``trainer.py``: offline, CPU settings,
resume, errors; ``run_dir.py``; ``hyp.py``; ``curves.py``; ``recipe.py``) and one folder per task (``detect/``,
``classify/``)."""
