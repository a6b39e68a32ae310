"""HRIS adapters: verify a source's webhook signature and translate its payload to `HRISEvent`.

Also the intake that accepts a delivery, record fetchers for sources whose webhooks only say
who changed, and the seeded demo stream simulator (``tools.hris.simulator``).
"""
