"""HRIS adapters: verify a source's webhook signature and translate its payload to `HRISEvent`."""
