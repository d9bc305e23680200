"""Elasticsearch EQL: the interpreter (``parser.parse`` lowers query text to the shared tree) and
its documented semantics table (``semantics.SEMANTICS``)."""
