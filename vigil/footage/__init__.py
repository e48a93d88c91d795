"""Stored footage. Everything dealing with the recordings index (the `recordings`, `segments`
and `fragments` tables) or with the segment files on the volumes flows through this package:
the index and its named SQL (index.py, the only place that SQL lives), the writer, the reader,
encryption at rest, the stored formats (fragmented MP4, H.264/H.265 parameter sets), the one
checker that reconciles index and files, and the port between the volumes and the recorder
(volumes.py).

It stands on `vigil.core` only: recording (which feeds it) and storage (which gives it volumes)
both build on it, never the other way round, and meet through its `Volumes` port.
"""
