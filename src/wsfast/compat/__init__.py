"""Drop-in surfaces for other WebSocket code, built on wsfast's hot paths.

- ``wsfast.compat.wsproto`` has wsproto 1.3's public API (``WSConnection``, the events, the
  extensions, the errors); switching is a change of import, or
  ``wsfast.compat.wsproto.install_as_wsproto()`` for code you cannot edit (docs/wsproto-compat.md).
- ``wsfast.compat.wsaccel`` mirrors the unmaintained wsaccel package (``wsaccel.xormask``,
  ``wsaccel.utf8validator``); :func:`wsfast.accelerate.accelerate` is the explicit way to make
  websocket-client or autobahn use it (docs/compat.md).

- ``wsfast.compat._patching`` records every change it makes to another library's modules, so
  that it can be undone; ``wsfast.accelerate`` and ``wsaccel.patch_autobahn()`` go through it.

Importing these modules patches nothing.
"""
