"""vigil's exceptions, sorted by who has to act.

* VigilError                 root; the CLI maps it to an exit code
  + UsageError               the user asked for something impossible (exit 2)
  + HashSetFormatError       a hash-set file is not the format it claims (exit 2)
  + EvidenceError            evidence cannot be opened at all (exit 2)
  + StoreError               the case store or hash-set library is unusable (exit 3)
    + BatchRejected          the store is fine but refused one batch's values (exit 3)
  + DependencyError          a backend library or tool is missing (exit 3)

A failure on one item is never an exception that leaves its stage: it becomes a
``model.ScanError`` record and the scan goes on. These classes are for failures of
a whole command.
"""


class VigilError(Exception):
    """Root of every error vigil raises on purpose."""

    exit_code = 1


class UsageError(VigilError):
    """The request cannot be carried out as given; the message says what to change."""

    exit_code = 2


class HashSetFormatError(VigilError):
    """A hash-set file is not in the format named (or detected)."""

    exit_code = 2


class EvidenceError(VigilError):
    """The evidence as a whole cannot be opened."""

    exit_code = 2


class StoreError(VigilError):
    """The case store or the hash-set library cannot be used."""

    exit_code = 3


class BatchRejected(StoreError):
    """The store refused the values of one write batch (a constraint or a value type).

    Nothing of the batch was written and the store is usable: the scan loop may record
    the batch's unit as failed and go on, unlike a plain ``StoreError`` (disk full,
    locked, corrupt), after which no further batch can be written.
    """


class DependencyError(VigilError):
    """A backend library or external tool vigil needs is missing."""

    exit_code = 3
