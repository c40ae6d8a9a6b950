"""Self-check: let a person learn whether they are concerned, without a second leak.

Two halves that never share a secret they do not need:

- :mod:`~.export` (the only module that opens a case) writes an index (:mod:`~.index`):
  keyed digests of identifiers, contact details sealed for the sender, controllers.
- :mod:`~.app` is the public web service over that index (:mod:`~.serve` runs it): each
  check (:mod:`~.service`) checks what was typed (:mod:`~.identifiers`), counts it against
  the limits (:mod:`~.limits`), looks the digests up and hands a job to the sender
  (:mod:`~.sender`), a separate process that alone holds the private key, decrypts and
  answers *only* to the channel on file. Hit or miss, the web answer is the same bytes
  and costs the same time; the difference lives only in the sender's process, after it.
"""
