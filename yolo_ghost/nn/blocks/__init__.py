"""Every block family; importing this package registers all of them."""

from yolo_ghost.nn.blocks import (  # noqa: F401  (registration side effects)
    attention,
    classify,
    csp,
    downsample,
    elan,
    ghost,
    heads,
    mobilenet,
    psa,
    resnext,
    selective_kernel,
    shuffle,
    spconv,
    stock,
    xception,
)
