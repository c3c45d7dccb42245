"""Small command-line commands of ``python -m yolo_ghost``; each module has ``add_arguments`` and ``run``."""
