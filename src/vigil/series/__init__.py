"""Series of unknown pictures for victim identification: near duplicates, one camera,
one lens, one capture burst, one place, one source folder (``vigil series``)."""
