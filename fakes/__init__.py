"""Stand-ins for what SPARK talks to outside itself: a Unity editor and a JWKS identity provider.

The tests and the benchmark both drive SPARK against them, so they are a package of their own
rather than part of either.
"""
