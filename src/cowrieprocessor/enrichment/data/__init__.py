"""Package data: the embedded offline dataset (built by ``scripts/build_embedded_data.py``)."""
