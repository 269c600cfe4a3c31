"""Shared configuration for the whole suite.

Helpers for testing both twins of a hot path live in ``twins.py`` (``from twins import
twin_fixture``); this conftest sits in ``tests/`` so that pytest puts that folder on ``sys.path``
for the test modules of every subfolder too.
"""
