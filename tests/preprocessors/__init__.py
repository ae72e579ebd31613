"""Unit tests of vglib.nbgrader_preprocessors on small notebooks built in the test."""
