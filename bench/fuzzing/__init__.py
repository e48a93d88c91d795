"""The fuzz walk that bench/fuzz.py runs, one module per stage:

values     the bad values, and the generic names and values where a handler gives no hint
spec       what a handler reads: its parameters, with their literals, defaults and types
reader     how the spec is read from a handler's source
targets    the endpoints, JSON methods and SOAP operations of a device, with what each reads
plausible  what the device lists, turned into good values for a parameter
payloads   JSON params and SOAP bodies as trees, and the edits at a position in them
requests   the requests of one target: plausible contexts, one bad value at a time
answers    what an answer means in each API's format, and what the walk counts
rig        the device under test, served as `vigil run` serves it
liveness   the watchdog and the probes of the real listeners
streams    the WebSocket event stream and the RTSP server
walk       one profile's walk, and several profiles in parallel
report     the table and the failures grouped
"""
