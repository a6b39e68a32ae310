"""Personal-data scrubbing: Presidio on spaCy's small model, offline, plus HR recognizers.

Importing this package first makes Presidio's email recognizer offline: tldextract reads
``TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS`` when its default extractor is created (at import), and
otherwise tries to download the public suffix list on first use. If tldextract was already
imported by someone else, its default extractor is switched to the bundled snapshot here.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

if "tldextract" in sys.modules:  # imported before us, with the download URLs configured
    _extractor = sys.modules["tldextract"].tldextract.TLD_EXTRACTOR
    if _extractor.suffix_list_urls:
        _extractor.suffix_list_urls = ()
        _extractor._extractor = None  # forget a list that may have been fetched already
