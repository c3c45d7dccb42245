"""Classification: the trainer and validator for ImageFolder datasets (``train.py``)."""
