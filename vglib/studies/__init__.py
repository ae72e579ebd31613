"""Each chapter's experiments, one module per chapter, built on :mod:`vglib.core`.

``vglib.studies.<chapter>`` holds what that chapter measures -- including what its demos
show -- and returns dataclasses with named fields. Torch and numpy only. A chapter imports
its study as ``from vglib.studies import <chapter> as study``.
"""
