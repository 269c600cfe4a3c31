"""Drop-in replacements for other projects' accelerator modules, built on wsfast's hot paths.

``wsfast.compat.wsaccel`` mirrors the unmaintained wsaccel package (``wsaccel.xormask``,
``wsaccel.utf8validator``). Importing these modules patches nothing:
:func:`wsfast.accelerate.accelerate` is the explicit way to make websocket-client or autobahn use
them (see docs/compat.md).
"""
