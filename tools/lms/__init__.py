"""LMS connectors (SCIM 2.0) and the bundled LMS sandbox.

Import from the modules (``tools.lms.scim``, ``tools.lms.errors``, ``tools.lms.sandbox``):
callers that only handle errors should not pay for importing the SCIM server.
"""
