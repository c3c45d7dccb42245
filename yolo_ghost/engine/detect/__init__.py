"""Detection: the trainer (``train.py``), the pycocotools validator (``val.py``, ``coco.py``) and per-class NMS."""
