"""The network layer: the block registry, the YAML builder, the blocks (``nn/blocks``), the classic YOLOv5 loss and
conv-BN fusion. It knows nothing of training, datasets or checkpoints."""
