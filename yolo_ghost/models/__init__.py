"""Models built from YAML: the detector (``yolo.py``), the classifier, their shared YAML model base, and safe
checkpoint loading. Built on ``yolo_ghost.nn``."""
