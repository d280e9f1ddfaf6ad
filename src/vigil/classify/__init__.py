"""A classifier slot: an agency-held ONNX model scores unknown pictures so that the
review queue shows the likeliest first. A score is a prioritisation aid, never a grade;
vigil ships no model (``vigil classify``)."""
